//! The shared sequence-encoder interface and the zoo's encoder enum.

use crate::recurrent::{CellKind, RecurrentEncoder, RecurrentEncoderConfig};
use crate::transformer::{TransformerSeqEncoder, TransformerSeqEncoderConfig};
use burn::prelude::*;
use burn::tensor::Bool;
use seqlab_config::{ModelConfig, ModelKind};

/// Input of a sequence encoder: the sequence and, for padded batches, its mask.
#[derive(Debug, Clone)]
pub struct EncoderInput {
    /// `[batch_size, seq_length, d_input]`.
    pub x: Tensor<3>,
    /// `[batch_size, seq_length]`, `true` at padded positions.
    pub mask_pad: Option<Tensor<2, Bool>>,
}

impl EncoderInput {
    /// An unpadded sequence batch.
    pub fn new(x: Tensor<3>) -> Self {
        Self { x, mask_pad: None }
    }

    /// Register the padding mask.
    pub fn mask_pad(mut self, mask: Tensor<2, Bool>) -> Self {
        self.mask_pad = Some(mask);
        self
    }
}

/// Output of a sequence encoder.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// Per-step (or per-patch) features `[batch_size, n_steps, d_output]`.
    pub hidden: Tensor<3>,
    /// A summary of the sequence `[batch_size, d_output]`: the last valid state of a recurrent
    /// encoder, the masked mean of a Transformer.
    pub summary: Tensor<2>,
}

/// What every encoder in the zoo offers.
pub trait SequenceEncoder {
    /// `[batch_size, seq_length, d_input] -> [batch_size, n_steps, d_output]` plus a summary.
    fn encode(&self, input: EncoderInput) -> EncoderOutput;
    /// Width of the features it returns.
    fn d_output(&self) -> usize;
    /// Number of steps in `hidden` for an input of `seq_length` steps.
    fn n_steps(&self, seq_length: usize) -> usize;
}

/// Any encoder of the zoo, chosen at run time from `[model] kind`.
// One encoder per model: boxing a variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Encoder {
    /// Elman RNN, LSTM or GRU.
    Recurrent(RecurrentEncoder),
    /// Transformer encoder.
    Transformer(TransformerSeqEncoder),
}

impl SequenceEncoder for Encoder {
    fn encode(&self, input: EncoderInput) -> EncoderOutput {
        match self {
            Encoder::Recurrent(m) => m.encode(input),
            Encoder::Transformer(m) => m.encode(input),
        }
    }

    fn d_output(&self) -> usize {
        match self {
            Encoder::Recurrent(m) => m.d_output(),
            Encoder::Transformer(m) => m.d_output(),
        }
    }

    fn n_steps(&self, seq_length: usize) -> usize {
        match self {
            Encoder::Recurrent(m) => m.n_steps(seq_length),
            Encoder::Transformer(m) => m.n_steps(seq_length),
        }
    }
}

/// Number of tokens for `seq_length` steps cut into patches (`patch_len = 0`: one per step).
pub fn n_tokens(patch_len: usize, stride: usize, seq_length: usize) -> usize {
    if patch_len == 0 {
        seq_length
    } else if seq_length < patch_len {
        0
    } else {
        (seq_length - patch_len) / stride.max(1) + 1
    }
}

/// Cut `[batch, steps, d]` into patch tokens `[batch, n_tokens, patch_len * d]` (a patch every
/// `stride` steps); a token is padding when its first step is. `patch_len = 0` is the identity.
pub fn patchify(
    x: Tensor<3>,
    mask: Option<Tensor<2, Bool>>,
    patch_len: usize,
    stride: usize,
) -> (Tensor<3>, Option<Tensor<2, Bool>>) {
    if patch_len == 0 {
        return (x, mask);
    }
    let [b, t, c] = x.dims();
    let n = n_tokens(patch_len, stride, t);
    let mut patches = Vec::with_capacity(n);
    let mut masks = Vec::with_capacity(n);
    for p in 0..n {
        let start = p * stride.max(1);
        patches.push(x.clone().slice(burn::tensor::s![.., start..start + patch_len, ..]).reshape([b, patch_len * c]));
        if let Some(m) = &mask {
            masks.push(m.clone().slice(burn::tensor::s![.., start..start + 1]));
        }
    }
    let mask = mask.map(|_| Tensor::cat(masks, 1));
    (Tensor::stack(patches, 1), mask)
}

/// Runtime configuration of an encoder, built from the user's `[model]` section.
#[derive(Debug, Clone)]
pub enum EncoderConfig {
    /// A recurrent encoder.
    Recurrent(RecurrentEncoderConfig),
    /// A Transformer encoder.
    Transformer(TransformerSeqEncoderConfig),
}

impl EncoderConfig {
    /// Convert the user's config; `None` for model kinds that are not sequence encoders (DLinear).
    pub fn from_model(m: &ModelConfig, d_input: usize, seq_length: usize) -> Option<Self> {
        let cell = match m.kind {
            ModelKind::Rnn => CellKind::Rnn,
            ModelKind::Lstm => CellKind::Lstm,
            ModelKind::Gru => CellKind::Gru,
            ModelKind::Transformer => {
                return Some(EncoderConfig::Transformer(TransformerSeqEncoderConfig {
                    d_input,
                    d_model: m.d_hidden,
                    d_ff: m.d_ff,
                    n_heads: m.n_heads,
                    n_layers: m.n_layers,
                    dropout: m.dropout,
                    patch_len: m.patch_len,
                    patch_stride: m.patch_stride,
                    max_len: seq_length,
                    causal: false,
                }));
            }
            ModelKind::Dlinear => return None,
        };
        Some(EncoderConfig::Recurrent(RecurrentEncoderConfig {
            cell,
            d_input,
            d_hidden: m.d_hidden,
            n_layers: m.n_layers,
            dropout: m.dropout,
            bidirectional: m.bidirectional,
            patch_len: m.patch_len,
            patch_stride: m.patch_stride,
        }))
    }

    /// Build the encoder.
    pub fn init(&self, device: &Device) -> Encoder {
        match self {
            EncoderConfig::Recurrent(c) => Encoder::Recurrent(c.init(device)),
            EncoderConfig::Transformer(c) => Encoder::Transformer(c.init(device)),
        }
    }
}
