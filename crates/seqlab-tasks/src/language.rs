//! Language modelling: token embedding -> any zoo encoder (a causal Transformer, or a
//! unidirectional recurrent encoder) -> logits over the vocabulary, with a masked
//! cross-entropy and the usual metrics (nats per token, perplexity, bits per character).

use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Int};
use seqlab_config::{ModelConfig, ModelKind};
use seqlab_models::{Encoder, EncoderConfig, EncoderInput, RecurrentState, SequenceEncoder};

/// Runtime configuration of a [`LanguageModel`].
#[derive(Debug, Clone)]
pub struct LanguageModelConfig {
    /// The user's model section (`d_hidden` is the embedding and model width).
    pub model: ModelConfig,
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Longest context (positions of the Transformer).
    pub context: usize,
}

impl LanguageModelConfig {
    /// Build the model. A language model reads left to right: Transformers get a causal mask,
    /// and recurrent encoders must be unidirectional and unpatched.
    pub fn init(&self, device: &Device) -> Result<LanguageModel, String> {
        let m = &self.model;
        let d = m.d_hidden;
        if m.kind == ModelKind::Dlinear {
            return Err("`model.kind`: dlinear is a forecaster, not a language model".into());
        }
        let Some(mut encoder) = EncoderConfig::from_model(m, d, self.context) else {
            unreachable!("every kind but dlinear is an encoder")
        };
        match &mut encoder {
            EncoderConfig::Transformer(t) => {
                t.causal = true;
                t.patch_len = 0;
            }
            EncoderConfig::Recurrent(r) => {
                if r.bidirectional || r.patch_len > 0 {
                    return Err("a recurrent language model must be unidirectional without patches \
                                (model.bidirectional = false, model.patch_len = 0)"
                        .into());
                }
            }
        }
        let encoder = encoder.init(device);
        Ok(LanguageModel {
            embed: EmbeddingConfig::new(self.vocab_size, d).init(device),
            norm: LayerNormConfig::new(encoder.d_output()).init(device),
            head: LinearConfig::new(encoder.d_output(), self.vocab_size).init(device),
            encoder,
        })
    }
}

/// Embedding, encoder, final norm, vocabulary head.
#[derive(Module, Debug)]
pub struct LanguageModel {
    /// Token embedding.
    pub embed: Embedding,
    /// Any zoo encoder, reading left to right.
    pub encoder: Encoder,
    /// Final layer norm (pre-norm Transformers leave their output unnormalised; GPT-2's `ln_f`).
    pub norm: LayerNorm,
    /// `d_model -> vocab_size`.
    pub head: Linear,
}

impl LanguageModel {
    /// `[batch, time]` token ids -> `[batch, time, vocab]` next-token logits.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let x = self.embed.forward(ids);
        self.head.forward(self.norm.forward(self.encoder.encode(EncoderInput::new(x)).hidden))
    }

    /// Recurrent models only: logits for `ids` starting from `state`, and the state after them,
    /// so that generation costs one step per token.
    pub fn forward_stateful(
        &self,
        ids: Tensor<2, Int>,
        state: Option<RecurrentState>,
    ) -> Option<(Tensor<3>, RecurrentState)> {
        match &self.encoder {
            Encoder::Recurrent(r) => {
                let (h, st) = r.forward_stateful(self.embed.forward(ids), state);
                Some((self.head.forward(self.norm.forward(h)), st))
            }
            Encoder::Transformer(_) => None,
        }
    }
}

/// Mean cross-entropy (nats per token) of logits `[batch, time, vocab]` against targets
/// `[batch, time]`, ignoring positions where `mask_pad` is `true`.
pub fn lm_loss(logits: Tensor<3>, targets: Tensor<2, Int>, mask_pad: Option<Tensor<2, Bool>>) -> Tensor<1> {
    let [b, t, v] = logits.dims();
    let logp = log_softmax(logits.reshape([b * t, v]), 1);
    let nll = logp.gather(1, targets.reshape([b * t, 1])).neg();
    match mask_pad {
        Some(mask) => {
            let keep = mask.bool_not().float().reshape([b * t, 1]);
            (nll * keep.clone()).sum() / keep.sum().clamp_min(1.0)
        }
        None => nll.mean(),
    }
}

/// Language-model metrics from a mean cross-entropy in nats per token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmMetrics {
    /// Cross-entropy, nats per token.
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
    /// `loss / ln 2`: bits per token, bits per character for character models.
    pub bits_per_token: f64,
}

impl LmMetrics {
    /// From a mean cross-entropy in nats.
    pub fn from_loss(loss: f64) -> Self {
        Self { loss, perplexity: loss.exp(), bits_per_token: loss / std::f64::consts::LN_2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::TensorData;

    fn ids(v: Vec<i32>, shape: [usize; 2], device: &Device) -> Tensor<2, Int> {
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    fn config(kind: ModelKind) -> LanguageModelConfig {
        LanguageModelConfig {
            model: ModelConfig {
                kind,
                d_hidden: 16,
                n_layers: 2,
                n_heads: 2,
                d_ff: 32,
                dropout: 0.0,
                ..ModelConfig::default()
            },
            vocab_size: 5,
            context: 12,
        }
    }

    #[test]
    fn loss_ignores_padded_positions() {
        let device = Device::flex();
        let logits = Tensor::<3>::random([1, 3, 5], burn::tensor::Distribution::Default, &device);
        let mask = Tensor::<2, Bool>::from_data(TensorData::new(vec![false, false, true], [1, 3]), &device);
        let a = lm_loss(logits.clone(), ids(vec![1, 2, 3], [1, 3], &device), Some(mask.clone())).into_scalar::<f32>();
        let b = lm_loss(logits.clone(), ids(vec![1, 2, 4], [1, 3], &device), Some(mask)).into_scalar::<f32>();
        let c = lm_loss(logits.slice(burn::tensor::s![.., 0..2, ..]), ids(vec![1, 2], [1, 2], &device), None)
            .into_scalar::<f32>();
        assert!((a - b).abs() < 1e-6 && (a - c).abs() < 1e-6, "{a} {b} {c}");
        // Uniform logits: ln(vocab) nats, log2(vocab) bits.
        let m = LmMetrics::from_loss(
            lm_loss(Tensor::zeros([1, 2, 5], &device), ids(vec![0, 4], [1, 2], &device), None).into_scalar::<f32>()
                as f64,
        );
        assert!((m.perplexity - 5.0).abs() < 1e-4 && (m.bits_per_token - 5f64.log2()).abs() < 1e-5);
    }

    #[test]
    fn every_encoder_learns_a_repeating_sequence() {
        let plain = Device::flex();
        let device = plain.clone().autodiff();
        for kind in [ModelKind::Transformer, ModelKind::Lstm, ModelKind::Gru, ModelKind::Rnn] {
            device.seed(5);
            let mut model = config(kind).init(&device).expect("model");
            let mut optim = AdamConfig::new().init();
            let seq: Vec<i32> = (0..13).map(|i| i % 4).collect();
            let x = ids(seq[..12].to_vec(), [1, 12], &device);
            let y = ids(seq[1..].to_vec(), [1, 12], &device);
            let first = lm_loss(model.forward(x.clone()), y.clone(), None).into_scalar::<f32>();
            for _ in 0..60 {
                let loss = lm_loss(model.forward(x.clone()), y.clone(), None);
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-2, model, grads);
            }
            let last = lm_loss(model.forward(x), y, None).into_scalar::<f32>();
            assert!(last < first * 0.3, "{kind:?}: {first} -> {last}");
        }
    }

    #[test]
    fn stateful_logits_equal_full_recomputation() {
        let device = Device::flex();
        for kind in [ModelKind::Lstm, ModelKind::Gru, ModelKind::Rnn] {
            let model = config(kind).init(&device).expect("model");
            let tokens = vec![1, 3, 0, 2, 4, 1];
            let full = model.forward(ids(tokens.clone(), [1, 6], &device));
            let (mut logits, mut state) =
                model.forward_stateful(ids(tokens[..3].to_vec(), [1, 3], &device), None).expect("recurrent");
            for &t in &tokens[3..] {
                let (l, s) = model.forward_stateful(ids(vec![t], [1, 1], &device), Some(state)).expect("recurrent");
                logits = Tensor::cat(vec![logits, l], 1);
                state = s;
            }
            let diff = (full - logits).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-4, "{kind:?}: {diff}");
        }
        assert!(config(ModelKind::Dlinear).init(&device).is_err());
        let mut bi = config(ModelKind::Lstm);
        bi.model.bidirectional = true;
        assert!(bi.init(&device).is_err());
    }
}
