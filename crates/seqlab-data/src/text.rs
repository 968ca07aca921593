//! Text: tokenizers trained on a corpus (character, word or byte-level BPE), saved as a
//! standard `tokenizer.json`, and the two language-model datasets built on them.
//!
//! - [`TextTokenizer`] wraps the `tokenizers` crate. Character and word vocabularies are
//!   learned from the training split; BPE learns its merges there. No hub download is involved;
//!   a `tokenizer.json` made elsewhere loads with [`TextTokenizer::load`].
//! - [`BlockSampler`] cuts a token stream into contiguous blocks of `context + 1` tokens at
//!   random offsets (nanoGPT style): inputs are the first `context`, targets the last.
//! - [`ngram_sequences`] makes the n-gram style dataset: every prefix of each line, with the
//!   next token as target; [`pad_left`] batches such prefixes with a padding mask.

use crate::DataError;
use crate::rng::SplitMix64;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainer};
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// The unknown token of character and word vocabularies.
pub const UNK: &str = "[UNK]";

pub use seqlab_config::TokenizerChoice;

fn tok_err(what: &str, e: impl std::fmt::Display) -> DataError {
    DataError::Config(format!("tokenizer: {what}: {e}"))
}

/// A trained or loaded tokenizer.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextTokenizer(vocab={})", self.vocab_size())
    }
}

impl TextTokenizer {
    /// Learn a tokenizer from `corpus` (the training split). `vocab_size` bounds word and BPE
    /// vocabularies; character vocabularies take every character seen.
    pub fn train(kind: TokenizerChoice, corpus: &str, vocab_size: usize) -> Result<Self, DataError> {
        if corpus.trim().is_empty() {
            return Err(DataError::Config("tokenizer: the training text is empty".into()));
        }
        let unk = || vec![AddedToken::from(UNK, true)];
        let (mut tokenizer, trainer) = match kind {
            TokenizerChoice::Char | TokenizerChoice::Word => {
                let model = WordLevel::builder().unk_token(UNK.into()).build().map_err(|e| tok_err("model", e))?;
                let mut t = Tokenizer::new(model);
                if kind == TokenizerChoice::Char {
                    let split =
                        Split::new(SplitPattern::Regex("(?s).".into()), SplitDelimiterBehavior::Isolated, false)
                            .map_err(|e| tok_err("pre-tokenizer", e))?;
                    t.with_pre_tokenizer(Some(split));
                    t.with_decoder(Some(Fuse::new()));
                } else {
                    t.with_pre_tokenizer(Some(Whitespace {}));
                }
                let trainer = WordLevelTrainer::builder()
                    .vocab_size(if kind == TokenizerChoice::Char { usize::MAX } else { vocab_size })
                    .min_frequency(0)
                    .show_progress(false)
                    .special_tokens(unk())
                    .build()
                    .map_err(|e| tok_err("trainer", e))?;
                (t, TrainerWrapper::WordLevelTrainer(trainer))
            }
            TokenizerChoice::Bpe => {
                let mut t = Tokenizer::new(BPE::default());
                t.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
                t.with_decoder(Some(ByteLevelDecoder::default()));
                let trainer = BpeTrainer::builder()
                    .vocab_size(vocab_size)
                    .min_frequency(2)
                    .show_progress(false)
                    .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
                    .build();
                (t, TrainerWrapper::BpeTrainer(trainer))
            }
        };
        let mut trainer = trainer;
        // Train on lines, keeping their newlines so that characters and bytes include them.
        let lines: Vec<String> = corpus.split_inclusive('\n').map(str::to_string).collect();
        tokenizer.train(&mut trainer, lines.into_iter()).map_err(|e| tok_err("training", e))?;
        Ok(Self { inner: tokenizer })
    }

    /// Load a `tokenizer.json` (made by seqlab or by any `tokenizers` user).
    pub fn load(path: &Path) -> Result<Self, DataError> {
        if !path.is_file() {
            return Err(DataError::Read { path: path.to_path_buf(), message: "tokenizer file not found".into() });
        }
        let inner = Tokenizer::from_file(path)
            .map_err(|e| DataError::Read { path: path.to_path_buf(), message: format!("not a tokenizer.json: {e}") })?;
        Ok(Self { inner })
    }

    /// Write `tokenizer.json`.
    pub fn save(&self, path: &Path) -> Result<(), DataError> {
        self.inner.save(path, true).map_err(|e| DataError::Read { path: path.to_path_buf(), message: e.to_string() })
    }

    /// Number of token ids.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of the unknown token, when the vocabulary has one.
    pub fn unk_id(&self) -> Option<u32> {
        self.inner.token_to_id(UNK)
    }

    /// Text to token ids. Characters or words outside the vocabulary become `[UNK]`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, DataError> {
        Ok(self.inner.encode(text, false).map_err(|e| tok_err("encode", e))?.get_ids().to_vec())
    }

    /// Text to token ids, refusing anything the vocabulary cannot represent (the error names
    /// the first unknown piece).
    pub fn encode_strict(&self, text: &str) -> Result<Vec<u32>, DataError> {
        let enc = self.inner.encode(text, false).map_err(|e| tok_err("encode", e))?;
        if let Some(unk) = self.unk_id()
            && let Some(i) = enc.get_ids().iter().position(|&id| id == unk)
        {
            let (a, b) = enc.get_offsets()[i];
            return Err(DataError::Config(format!(
                "`{}` (at byte {a}) is not in the tokenizer's vocabulary",
                text.get(a..b).unwrap_or("?")
            )));
        }
        Ok(enc.get_ids().to_vec())
    }

    /// Token ids to text.
    pub fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        self.inner.decode(ids, false).map_err(|e| tok_err("decode", e))
    }
}

/// A text corpus split by characters (nanoGPT: the first 90% train, the next 10% valid), with
/// the tokenizer learned on (or loaded for) the training part and both parts encoded.
#[derive(Debug, Clone)]
pub struct TextCorpus {
    /// The corpus file.
    pub path: std::path::PathBuf,
    /// The tokenizer.
    pub tokenizer: TextTokenizer,
    /// Training tokens.
    pub train: Vec<u32>,
    /// Validation tokens.
    pub valid: Vec<u32>,
    /// Characters in the training and validation parts.
    pub chars: (usize, usize),
}

impl TextCorpus {
    /// Read and prepare the corpus named by a `[data]` section (`kind = "text"`).
    pub fn from_config(cfg: &seqlab_config::DataConfig) -> Result<Self, DataError> {
        let path = crate::source::locate_with(
            &cfg.root,
            &cfg.path,
            cfg.sha256.as_deref(),
            cfg.mirror.as_deref(),
            &crate::source::cache_dir(),
        )?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| DataError::Read { path: path.clone(), message: format!("not UTF-8 text: {e}") })?;
        if text.trim().is_empty() {
            return Err(DataError::Read { path, message: "the corpus is empty".into() });
        }
        let n = text.chars().count();
        let n_train = (n as f64 * cfg.split.train) as usize;
        let n_valid = ((n as f64 * cfg.split.valid) as usize).min(n - n_train);
        let byte_at = |chars: usize| text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i);
        let (a, b) = (byte_at(n_train), byte_at(n_train + n_valid));
        let (train_text, valid_text) = (&text[..a], &text[a..b]);
        let tokenizer = match &cfg.tokenizer_file {
            Some(file) => TextTokenizer::load(&crate::source::resolve(&cfg.root, file))?,
            None => TextTokenizer::train(cfg.tokenizer, train_text, cfg.vocab_size)
                .map_err(|e| DataError::Read { path: path.clone(), message: e.to_string() })?,
        };
        let train = tokenizer.encode(train_text)?;
        let valid = tokenizer.encode(valid_text)?;
        for (name, stream) in [("train", &train), ("valid", &valid)] {
            if stream.len() <= cfg.context {
                return Err(DataError::TooShort {
                    path: path.clone(),
                    message: format!(
                        "the {name} part has {} tokens; data.context = {} needs at least {}",
                        stream.len(),
                        cfg.context,
                        cfg.context + 1
                    ),
                });
            }
        }
        Ok(Self { path, tokenizer, train, valid, chars: (n_train, n_valid) })
    }
}

/// Contiguous blocks of a token stream at random offsets, nanoGPT style.
#[derive(Debug, Clone)]
pub struct BlockSampler {
    /// Tokens per input block.
    pub context: usize,
    rng: SplitMix64,
}

impl BlockSampler {
    /// A seeded sampler of blocks of `context` input tokens.
    pub fn new(context: usize, seed: u64) -> Self {
        Self { context, rng: SplitMix64::new(seed) }
    }

    /// Start offsets of `n` blocks in a stream of `len` tokens (each block needs `context + 1`).
    pub fn offsets(&mut self, len: usize, n: usize) -> Result<Vec<usize>, DataError> {
        if len <= self.context {
            return Err(DataError::Config(format!(
                "the token stream ({len} tokens) is shorter than context + 1 = {}",
                self.context + 1
            )));
        }
        let span = len - self.context;
        Ok((0..n).map(|_| self.rng.below(span)).collect())
    }

    /// Inputs and next-token targets `[n, context]` from a stream at the given offsets.
    pub fn batch(&self, stream: &[u32], offsets: &[usize], device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
        let c = self.context;
        let mut x = Vec::with_capacity(offsets.len() * c);
        let mut y = Vec::with_capacity(offsets.len() * c);
        for &o in offsets {
            x.extend(stream[o..o + c].iter().map(|&t| t as i32));
            y.extend(stream[o + 1..o + c + 1].iter().map(|&t| t as i32));
        }
        let shape = [offsets.len(), c];
        (Tensor::from_data(TensorData::new(x, shape), device), Tensor::from_data(TensorData::new(y, shape), device))
    }
}

/// The n-gram dataset: for each line, every prefix of length >= 1 with the next token as target.
pub fn ngram_sequences(lines: &[Vec<u32>]) -> Vec<(Vec<u32>, u32)> {
    let mut out = Vec::new();
    for line in lines {
        for end in 1..line.len() {
            out.push((line[..end].to_vec(), line[end]));
        }
    }
    out
}

/// Left-pad token sequences to the longest (with `pad_id`), so the last position of every row
/// is its last real token. Returns ids `[batch, max_len]` and the mask (`true` = padding).
pub fn pad_left(seqs: &[&[u32]], pad_id: u32, device: &Device) -> (Tensor<2, Int>, Tensor<2, Bool>) {
    let max_len = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * max_len);
    let mut mask = Vec::with_capacity(seqs.len() * max_len);
    for s in seqs {
        let pad = max_len - s.len();
        ids.extend(std::iter::repeat_n(pad_id as i32, pad).chain(s.iter().map(|&t| t as i32)));
        mask.extend(std::iter::repeat_n(true, pad).chain(std::iter::repeat_n(false, s.len())));
    }
    let shape = [seqs.len(), max_len];
    (Tensor::from_data(TensorData::new(ids, shape), device), Tensor::from_data(TensorData::new(mask, shape), device))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n";

    #[test]
    fn char_tokenizer_round_trips_every_character() {
        let t = TextTokenizer::train(TokenizerChoice::Char, TEXT, 0).expect("train");
        let distinct: std::collections::BTreeSet<char> = TEXT.chars().collect();
        assert_eq!(t.vocab_size(), distinct.len() + 1, "every character plus [UNK]");
        let ids = t.encode(TEXT).expect("encode");
        assert_eq!(ids.len(), TEXT.chars().count());
        assert_eq!(t.decode(&ids).expect("decode"), TEXT);
        // Unknown characters: [UNK] by default, an error naming them when strict.
        let ids = t.encode("Fiq").expect("encode");
        assert_eq!(ids[2], t.unk_id().expect("unk"));
        let err = t.encode_strict("Fiq").expect_err("q is unknown").to_string();
        assert!(err.contains("`q`"), "{err}");
    }

    #[test]
    fn word_and_bpe_tokenizers_round_trip_and_reload() {
        let dir = std::env::temp_dir().join(format!("seqlab-tok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let w = TextTokenizer::train(TokenizerChoice::Word, TEXT, 1000).expect("word");
        let ids = w.encode("hear me speak.").expect("encode");
        assert_eq!(ids.len(), 4, "three words and a full stop");
        assert_eq!(w.decode(&ids).expect("decode"), "hear me speak .");
        let corpus = TEXT.repeat(20);
        let b = TextTokenizer::train(TokenizerChoice::Bpe, &corpus, 300).expect("bpe");
        assert!(b.vocab_size() <= 300 && b.vocab_size() > 256, "{}", b.vocab_size());
        let ids = b.encode(TEXT).expect("encode");
        assert!(ids.len() < TEXT.len(), "merges shorten the text");
        assert_eq!(b.decode(&ids).expect("decode"), TEXT);
        // Byte-level BPE represents anything, even unseen characters.
        assert_eq!(b.decode(&b.encode("zébra ∑").expect("encode")).expect("decode"), "zébra ∑");
        let path = dir.join("tokenizer.json");
        b.save(&path).expect("save");
        let back = TextTokenizer::load(&path).expect("load");
        assert_eq!(back.encode(TEXT).expect("encode"), ids);
        let err = TextTokenizer::load(&dir.join("missing.json")).expect_err("missing").to_string();
        assert!(err.contains("missing.json"), "{err}");
    }

    #[test]
    fn empty_corpus_is_an_error() {
        let err = TextTokenizer::train(TokenizerChoice::Char, "  \n", 0).expect_err("empty").to_string();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn blocks_stay_inside_the_stream_and_shift_by_one() {
        let stream: Vec<u32> = (0..50).collect();
        let mut s = BlockSampler::new(8, 3);
        let offsets = s.offsets(stream.len(), 500).expect("offsets");
        assert!(offsets.iter().all(|&o| o + 8 < stream.len()), "room for the target of the last input");
        assert!(offsets.contains(&0) && offsets.contains(&41), "both ends reachable");
        let (x, y) = s.batch(&stream, &[5], &Device::flex());
        let x = x.into_data().try_to_vec::<i32>().expect("i64");
        let y = y.into_data().try_to_vec::<i32>().expect("i64");
        assert_eq!(x, (5..13).collect::<Vec<i32>>());
        assert_eq!(y, (6..14).collect::<Vec<i32>>());
        assert!(BlockSampler::new(50, 0).offsets(50, 1).is_err());
        // Seeded: the same seed gives the same offsets.
        assert_eq!(
            BlockSampler::new(8, 3).offsets(50, 20).expect("a"),
            BlockSampler::new(8, 3).offsets(50, 20).expect("b")
        );
    }

    #[test]
    fn ngrams_and_left_padding() {
        let seqs = ngram_sequences(&[vec![7, 8, 9], vec![4, 5]]);
        assert_eq!(seqs, vec![(vec![7], 8), (vec![7, 8], 9), (vec![4], 5)]);
        let inputs: Vec<&[u32]> = seqs.iter().map(|(p, _)| p.as_slice()).collect();
        let (ids, mask) = pad_left(&inputs, 0, &Device::flex());
        assert_eq!(ids.into_data().try_to_vec::<i32>().expect("i64"), vec![0, 7, 7, 8, 0, 4]);
        assert_eq!(mask.into_data().try_to_vec::<bool>().expect("bool"), vec![true, false, false, false, true, false]);
    }
}
