//! A Transformer encoder over time steps or over patches of time steps.
//!
//! With `patch_len > 0`, the sequence is cut into patches of `patch_len` steps every
//! `patch_stride` steps (as PatchTST does), each patch is one token; otherwise each step is a
//! token. Tokens get a learned position embedding and go through pre-norm encoder blocks.

use crate::encoder::{EncoderInput, EncoderOutput, SequenceEncoder, n_tokens, patchify};
use burn::module::Param;
use burn::nn::activation::ActivationConfig;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::s;

/// Configuration of a [`TransformerSeqEncoder`].
#[derive(Debug, Clone)]
pub struct TransformerSeqEncoderConfig {
    /// Input features per step.
    pub d_input: usize,
    /// Model width.
    pub d_model: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Encoder blocks.
    pub n_layers: usize,
    /// Dropout in blocks and on the embedding.
    pub dropout: f64,
    /// Steps per patch (0: one token per step).
    pub patch_len: usize,
    /// Steps between patch starts.
    pub patch_stride: usize,
    /// Longest sequence the position embedding covers.
    pub max_len: usize,
    /// Each token attends only to itself and earlier tokens (language modelling).
    pub causal: bool,
}

impl TransformerSeqEncoderConfig {
    /// Number of tokens for a sequence of `seq_length` steps.
    pub fn n_tokens(&self, seq_length: usize) -> usize {
        n_tokens(self.patch_len, self.patch_stride, seq_length)
    }

    /// Build the encoder.
    pub fn init(&self, device: &Device) -> TransformerSeqEncoder {
        let token_width = if self.patch_len > 0 { self.patch_len * self.d_input } else { self.d_input };
        let encoder = TransformerEncoderConfig::new(self.d_model, self.d_ff, self.n_heads, self.n_layers)
            .with_dropout(self.dropout)
            .with_norm_first(true)
            .with_activation(ActivationConfig::Gelu)
            .init(device);
        TransformerSeqEncoder {
            embed: LinearConfig::new(token_width, self.d_model).init(device),
            position: Initializer::Normal { mean: 0.0, std: 0.02 }
                .init([self.n_tokens(self.max_len).max(1), self.d_model], device),
            encoder,
            dropout: DropoutConfig::new(self.dropout).init(),
            d_model: self.d_model,
            patch_len: self.patch_len,
            patch_stride: self.patch_stride.max(1),
            causal: self.causal,
        }
    }
}

/// Transformer encoder over steps or patches.
#[derive(Module, Debug)]
pub struct TransformerSeqEncoder {
    /// Token embedding.
    pub embed: Linear,
    /// Learned position embedding `[max_tokens, d_model]`.
    pub position: Param<Tensor<2>>,
    /// Pre-norm encoder blocks.
    pub encoder: TransformerEncoder,
    /// Dropout on the embedded tokens.
    pub dropout: Dropout,
    /// Model width.
    pub d_model: usize,
    /// Steps per patch (0: none).
    pub patch_len: usize,
    /// Steps between patches.
    pub patch_stride: usize,
    /// Causal attention.
    pub causal: bool,
}

impl SequenceEncoder for TransformerSeqEncoder {
    fn encode(&self, input: EncoderInput) -> EncoderOutput {
        let (tokens, mask) = patchify(input.x, input.mask_pad, self.patch_len, self.patch_stride);
        let [b, n, _] = tokens.dims();
        let tokens_device = tokens.device();
        let pos = self.position.val().slice(s![0..n, ..]).unsqueeze_dim::<3>(0);
        let h = self.dropout.forward(self.embed.forward(tokens) + pos);
        let mut enc_in = TransformerEncoderInput::new(h);
        if let Some(m) = mask.clone() {
            enc_in = enc_in.mask_pad(m);
        }
        if self.causal {
            enc_in = enc_in.mask_attn(burn::nn::attention::generate_autoregressive_mask(b, n, &tokens_device));
        }
        let hidden = self.encoder.forward(enc_in);
        let summary = match mask {
            Some(m) => {
                let keep = m.bool_not().float().unsqueeze_dim::<3>(2);
                let count = keep.clone().sum_dim(1).clamp_min(1.0);
                (hidden.clone() * keep).sum_dim(1).div(count).reshape([b, self.d_model])
            }
            None => hidden.clone().mean_dim(1).reshape([b, self.d_model]),
        };
        EncoderOutput { hidden, summary }
    }

    fn d_output(&self) -> usize {
        self.d_model
    }

    fn n_steps(&self, seq_length: usize) -> usize {
        n_tokens(self.patch_len, self.patch_stride, seq_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small encoder config: width 16, 4 heads, 2 blocks, no dropout, no patches.
    fn small(d_input: usize, max_len: usize, causal: bool) -> TransformerSeqEncoderConfig {
        TransformerSeqEncoderConfig {
            d_input,
            d_model: 16,
            d_ff: 32,
            n_heads: 4,
            n_layers: 2,
            dropout: 0.0,
            patch_len: 0,
            patch_stride: 8,
            max_len,
            causal,
        }
    }

    #[test]
    fn patches_and_steps_give_the_right_token_counts() {
        let device = Device::flex();
        let base = small(2, 96, false);
        let x = Tensor::<3>::random([3, 96, 2], burn::tensor::Distribution::Default, &device);
        let enc = base.init(&device);
        let out = enc.encode(EncoderInput::new(x.clone()));
        assert_eq!(out.hidden.dims(), [3, 96, 16]);
        assert_eq!(out.summary.dims(), [3, 16]);
        let patched = TransformerSeqEncoderConfig { patch_len: 16, ..base }.init(&device);
        let out = patched.encode(EncoderInput::new(x));
        // (96 - 16) / 8 + 1 = 11 patches
        assert_eq!(out.hidden.dims(), [3, 11, 16]);
        assert_eq!(patched.n_steps(96), 11);
    }

    /// With a causal mask, the features of step t do not depend on any later step.
    #[test]
    fn causal_attention_does_not_look_ahead() {
        let device = Device::flex();
        let enc = small(3, 10, true).init(&device);
        let x = Tensor::<3>::random([1, 10, 3], burn::tensor::Distribution::Default, &device);
        let changed = Tensor::cat(vec![x.clone().slice(s![.., 0..6, ..]), Tensor::ones([1, 4, 3], &device) * 5.0], 1);
        let a = enc.encode(EncoderInput::new(x)).hidden;
        let b = enc.encode(EncoderInput::new(changed)).hidden;
        let prefix =
            (a.clone().slice(s![.., 0..6, ..]) - b.clone().slice(s![.., 0..6, ..])).abs().max().into_scalar::<f32>();
        assert!(prefix < 1e-5, "{prefix}");
        let suffix = (a.slice(s![.., 6..10, ..]) - b.slice(s![.., 6..10, ..])).abs().max().into_scalar::<f32>();
        assert!(suffix > 1e-3, "later steps do change");
    }
}
