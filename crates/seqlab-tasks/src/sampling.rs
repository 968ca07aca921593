//! Choosing the next token from a model's logits: greedy, sampling with temperature, top-k,
//! top-p (nucleus) and a repetition penalty, and beam search with a length penalty.
//!
//! These work on plain `f32` slices (one row of logits), so they serve every language model
//! of the zoo, and are tested on their own.

use seqlab_data::rng::SplitMix64;

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    /// Softmax temperature; `0` means greedy.
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`None`: all).
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches `p` (`None`: all).
    pub top_p: Option<f32>,
    /// Penalty (> 1) on tokens already generated, as in CTRL (`1`: none).
    pub repetition_penalty: f32,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self { temperature: 1.0, top_k: None, top_p: None, repetition_penalty: 1.0 }
    }
}

impl SamplingConfig {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        Self { temperature: 0.0, ..Self::default() }
    }
}

/// Index of the largest logit (the first one on ties).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best
}

/// CTRL's repetition penalty: logits of tokens in `history` are divided by `penalty` when
/// positive and multiplied by it when negative, so they become less likely either way.
pub fn apply_repetition_penalty(logits: &mut [f32], history: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let mut seen = vec![false; logits.len()];
    for &t in history {
        if let Some(s) = seen.get_mut(t as usize) {
            *s = true;
        }
    }
    for (l, s) in logits.iter_mut().zip(seen) {
        if s {
            *l = if *l > 0.0 { *l / penalty } else { *l * penalty };
        }
    }
}

/// Softmax probabilities after temperature, top-k and top-p filtering (zeros outside the kept set).
pub fn filtered_probs(logits: &[f32], cfg: &SamplingConfig) -> Vec<f32> {
    let n = logits.len();
    let t = cfg.temperature.max(1e-6);
    let mut order: Vec<usize> = (0..n).collect();
    // Most likely first; ties by index, so the result does not depend on the sort.
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let k = cfg.top_k.unwrap_or(n).clamp(1, n);
    let kept = &order[..k];
    let max = logits[kept[0]];
    let mut probs = vec![0.0f32; n];
    let mut sum = 0.0f32;
    for &i in kept {
        let p = ((logits[i] - max) / t).exp();
        probs[i] = p;
        sum += p;
    }
    probs.iter_mut().for_each(|p| *p /= sum);
    if let Some(top_p) = cfg.top_p
        && top_p < 1.0
    {
        let mut cumulative = 0.0f32;
        let mut cut = kept.len();
        for (j, &i) in kept.iter().enumerate() {
            cumulative += probs[i];
            if cumulative >= top_p {
                cut = j + 1;
                break;
            }
        }
        for &i in &kept[cut..] {
            probs[i] = 0.0;
        }
        let s: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= s);
    }
    probs
}

/// Choose the next token.
pub fn sample(logits: &[f32], cfg: &SamplingConfig, history: &[u32], rng: &mut SplitMix64) -> u32 {
    let mut logits = logits.to_vec();
    apply_repetition_penalty(&mut logits, history, cfg.repetition_penalty);
    if cfg.temperature <= 0.0 {
        return argmax(&logits) as u32;
    }
    let probs = filtered_probs(&logits, cfg);
    let u = rng.uniform() as f32;
    let mut cumulative = 0.0f32;
    let mut last = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            cumulative += p;
            last = i;
            if u < cumulative {
                return i as u32;
            }
        }
    }
    last as u32
}

/// Natural-log softmax of one row of logits.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
    logits.iter().map(|l| l - lse).collect()
}

/// Beam search settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BeamConfig {
    /// Beams kept at each step.
    pub width: usize,
    /// Tokens to add.
    pub max_tokens: usize,
    /// Scores are divided by `length ^ length_penalty` (0: raw log-probability).
    pub length_penalty: f32,
    /// A token that ends a beam.
    pub eos: Option<u32>,
}

/// Beam search. `next_logits` maps the current beams (each the generated tokens so far) to the
/// next-token logits of each beam. Returns the best continuation (without the prompt).
pub fn beam_search<F>(cfg: &BeamConfig, mut next_logits: F) -> Vec<u32>
where
    F: FnMut(&[Vec<u32>]) -> Vec<Vec<f32>>,
{
    let width = cfg.width.max(1);
    let score = |logp: f32, len: usize| logp / (len.max(1) as f32).powf(cfg.length_penalty);
    let mut beams: Vec<(Vec<u32>, f32)> = vec![(Vec::new(), 0.0)];
    let mut finished: Vec<(Vec<u32>, f32)> = Vec::new();
    for _ in 0..cfg.max_tokens {
        let seqs: Vec<Vec<u32>> = beams.iter().map(|(s, _)| s.clone()).collect();
        let logits = next_logits(&seqs);
        let mut candidates: Vec<(Vec<u32>, f32)> = Vec::new();
        for ((seq, logp), row) in beams.iter().zip(logits) {
            let lp = log_softmax(&row);
            let mut order: Vec<usize> = (0..lp.len()).collect();
            order.sort_by(|&a, &b| lp[b].total_cmp(&lp[a]).then(a.cmp(&b)));
            for &tok in order.iter().take(width) {
                let mut s = seq.clone();
                s.push(tok as u32);
                candidates.push((s, logp + lp[tok]));
            }
        }
        candidates.sort_by(|a, b| score(b.1, b.0.len()).total_cmp(&score(a.1, a.0.len())));
        beams.clear();
        for (s, lp) in candidates {
            if beams.len() == width {
                break;
            }
            if cfg.eos.is_some_and(|e| s.last() == Some(&e)) {
                finished.push((s, lp));
            } else {
                beams.push((s, lp));
            }
        }
        if beams.is_empty() {
            break;
        }
    }
    finished.extend(beams);
    finished
        .into_iter()
        .max_by(|a, b| score(a.1, a.0.len()).total_cmp(&score(b.1, b.0.len())))
        .map(|(s, _)| s)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_logits(rng: &mut SplitMix64, n: usize) -> Vec<f32> {
        (0..n).map(|_| (rng.uniform() as f32 - 0.5) * 8.0).collect()
    }

    #[test]
    fn top_k_one_is_greedy() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..200 {
            let logits = random_logits(&mut rng, 37);
            let cfg = SamplingConfig { top_k: Some(1), ..SamplingConfig::default() };
            assert_eq!(sample(&logits, &cfg, &[], &mut rng) as usize, argmax(&logits));
        }
    }

    #[test]
    fn top_p_one_and_top_k_vocab_are_plain_sampling() {
        let mut source = SplitMix64::new(2);
        for seed in 0..200 {
            let logits = random_logits(&mut source, 23);
            let plain = SamplingConfig::default();
            let wide = SamplingConfig { top_k: Some(23), top_p: Some(1.0), ..SamplingConfig::default() };
            let a = sample(&logits, &plain, &[], &mut SplitMix64::new(seed));
            let b = sample(&logits, &wide, &[], &mut SplitMix64::new(seed));
            assert_eq!(a, b);
        }
    }

    #[test]
    fn samples_are_vocabulary_ids_and_follow_the_distribution() {
        let mut rng = SplitMix64::new(3);
        let logits = [0.0f32, (3.0f32).ln(), f32::NEG_INFINITY, 0.0];
        let mut counts = [0usize; 4];
        for _ in 0..20_000 {
            let cfg = SamplingConfig { top_p: Some(0.9), ..SamplingConfig::default() };
            let t = sample(&logits, &cfg, &[], &mut rng) as usize;
            assert!(t < 4);
            counts[t] += 1;
        }
        // p = [0.2, 0.6, 0, 0.2]; top-p 0.9 keeps 1, 0 and 3 (ties by index) -> unchanged.
        assert_eq!(counts[2], 0);
        assert!((counts[1] as f64 / 20_000.0 - 0.6).abs() < 0.02, "{counts:?}");
        // top-p 0.5 keeps only the most likely token.
        let cfg = SamplingConfig { top_p: Some(0.5), ..SamplingConfig::default() };
        assert!((0..100).all(|_| sample(&logits, &cfg, &[], &mut rng) == 1));
    }

    #[test]
    fn low_temperature_approaches_greedy() {
        let mut rng = SplitMix64::new(4);
        for _ in 0..200 {
            let logits = random_logits(&mut rng, 50);
            let cfg = SamplingConfig { temperature: 1e-3, ..SamplingConfig::default() };
            assert_eq!(sample(&logits, &cfg, &[], &mut rng) as usize, argmax(&logits));
            assert_eq!(sample(&logits, &SamplingConfig::greedy(), &[], &mut rng) as usize, argmax(&logits));
        }
    }

    #[test]
    fn repetition_penalty_demotes_seen_tokens() {
        let mut logits = vec![2.0f32, 1.9, -1.0, -1.1];
        apply_repetition_penalty(&mut logits, &[0, 2], 2.0);
        assert_eq!(logits, vec![1.0, 1.9, -2.0, -1.1]);
        assert_eq!(argmax(&logits), 1);
    }

    /// A toy model: the next-token logits depend on the last token only.
    fn toy(seqs: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let table = [[0.1f32, 2.0, 0.3, 1.9], [1.0, 0.0, 3.0, 0.5], [2.5, 0.2, 0.1, 0.0], [0.0, 0.0, 0.0, 4.0]];
        seqs.iter().map(|s| table[*s.last().unwrap_or(&0) as usize].to_vec()).collect()
    }

    #[test]
    fn beam_width_one_is_greedy_and_wider_beams_score_no_worse() {
        let greedy: Vec<u32> = {
            let mut s: Vec<u32> = Vec::new();
            for _ in 0..6 {
                let logits = toy(std::slice::from_ref(&s)).remove(0);
                s.push(argmax(&logits) as u32);
            }
            s
        };
        let one = beam_search(&BeamConfig { width: 1, max_tokens: 6, length_penalty: 0.0, eos: None }, toy);
        assert_eq!(one, greedy);
        let logp =
            |s: &[u32]| -> f32 { (0..s.len()).map(|i| log_softmax(&toy(&[s[..i].to_vec()])[0])[s[i] as usize]).sum() };
        let wide = beam_search(&BeamConfig { width: 4, max_tokens: 6, length_penalty: 0.0, eos: None }, toy);
        assert_eq!(wide.len(), 6);
        assert!(logp(&wide) >= logp(&greedy) - 1e-5, "{} < {}", logp(&wide), logp(&greedy));
        // Token 3 leads to itself with high probability: greedy takes 1 first, the beam finds 3, 3, ...
        assert!(logp(&wide) > logp(&greedy));
    }
}
