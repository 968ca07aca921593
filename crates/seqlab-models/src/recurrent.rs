//! Recurrent encoders: Elman RNN, LSTM and GRU, stacked, optionally bidirectional.
//!
//! Each layer projects the whole input sequence once (`x W_ih + b_ih`, one matrix product for all
//! time steps) and then runs the recurrence with one fused matrix product per step for all gates
//! (`h W_hh + b_hh`). Gate order and formulas follow PyTorch (`i, f, g, o` for LSTM; `r, z, n`
//! for GRU with `n = tanh(x_n + r * (h W_hn + b_hn))`).
//!
//! With a padding mask, the state is frozen at padded steps, so the summary of each sequence is
//! its last valid state, and the backward direction starts at its last valid step.

use crate::encoder::{EncoderInput, EncoderOutput, SequenceEncoder, n_tokens, patchify};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Bool, s};

/// The recurrence of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// `h' = tanh(x W_ih + b_ih + h W_hh + b_hh)`.
    Rnn,
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
}

impl CellKind {
    /// Number of gate blocks in the fused projections.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
}

/// Configuration of a [`RecurrentEncoder`].
#[derive(Debug, Clone)]
pub struct RecurrentEncoderConfig {
    /// The recurrence.
    pub cell: CellKind,
    /// Input features.
    pub d_input: usize,
    /// Hidden size of each direction.
    pub d_hidden: usize,
    /// Stacked layers.
    pub n_layers: usize,
    /// Dropout between layers.
    pub dropout: f64,
    /// Also read the sequence backwards and concatenate.
    pub bidirectional: bool,
    /// Steps per patch (0: none).
    pub patch_len: usize,
    /// Steps between patches.
    pub patch_stride: usize,
}

impl RecurrentEncoderConfig {
    /// Build the encoder.
    pub fn init(&self, device: &Device) -> RecurrentEncoder {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let mut forward = Vec::new();
        let mut backward = Vec::new();
        for layer in 0..self.n_layers {
            let token = if self.patch_len > 0 { self.patch_len * self.d_input } else { self.d_input };
            let d_in = if layer == 0 { token } else { self.d_hidden * dirs };
            forward.push(RecurrentLayer::new(self.cell, d_in, self.d_hidden, false, device));
            if self.bidirectional {
                backward.push(RecurrentLayer::new(self.cell, d_in, self.d_hidden, true, device));
            }
        }
        RecurrentEncoder {
            forward,
            backward,
            dropout: DropoutConfig::new(self.dropout).init(),
            d_hidden: self.d_hidden,
            bidirectional: self.bidirectional,
            patch_len: self.patch_len,
            patch_stride: self.patch_stride.max(1),
        }
    }
}

/// One direction of one recurrent layer.
#[derive(Module, Debug)]
pub struct RecurrentLayer {
    /// Input projection for all gates, `d_input -> gates * d_hidden`.
    pub input: Linear,
    /// Hidden projection for all gates, `d_hidden -> gates * d_hidden`.
    pub hidden: Linear,
    /// Hidden size.
    pub d_hidden: usize,
    /// Reads the sequence from the end.
    pub reverse: bool,
    #[module(skip)]
    cell: CellKind,
}

impl RecurrentLayer {
    fn new(cell: CellKind, d_input: usize, d_hidden: usize, reverse: bool, device: &Device) -> Self {
        let g = cell.gates() * d_hidden;
        // PyTorch's initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
        let k = 1.0 / (d_hidden as f64).sqrt();
        let init = burn::nn::Initializer::Uniform { min: -k, max: k };
        let input = LinearConfig::new(d_input, g).with_initializer(init.clone()).init(device);
        let hidden = LinearConfig::new(d_hidden, g).with_initializer(init).init(device);
        Self { input, hidden, d_hidden, reverse, cell }
    }

    /// `[batch_size, seq_length, d_input] -> ([batch_size, seq_length, d_hidden], [batch_size, d_hidden])`.
    pub fn forward(&self, x: Tensor<3>, mask_pad: Option<&Tensor<2, Bool>>) -> (Tensor<3>, Tensor<2>) {
        let keep = mask_pad.map(keep_steps);
        let (outputs, last) = self.forward_steps(split_steps(x), keep.as_deref());
        (Tensor::stack(outputs, 1), last)
    }

    /// One step per element: `[batch_size, d_input]` each -> `[batch_size, d_hidden]` each, plus
    /// the final state. `keep[t]` is `[batch_size, 1]`, 1 at valid and 0 at padded steps.
    ///
    /// Working on a list of steps (not slices of one `[batch, time, features]` tensor) keeps the
    /// backward pass linear in the sequence length: the gradient of a slice of a big tensor is a
    /// zero tensor of the big shape, so slicing every step would cost O(time^2).
    pub fn forward_steps(&self, steps: Vec<Tensor<2>>, keep: Option<&[Tensor<2>]>) -> (Vec<Tensor<2>>, Tensor<2>) {
        let (outputs, state) = self.forward_steps_from(steps, keep, None);
        (outputs, state.h)
    }

    /// As [`forward_steps`](Self::forward_steps), starting from `state` (zeros when `None`) and
    /// returning the final state, so a sequence can be fed in pieces (generation, truncated
    /// back-propagation through time).
    pub fn forward_steps_from(
        &self,
        steps: Vec<Tensor<2>>,
        keep: Option<&[Tensor<2>]>,
        state: Option<CellState>,
    ) -> (Vec<Tensor<2>>, CellState) {
        let t_len = steps.len();
        let Some(first) = steps.first() else { unreachable!("a sequence has at least one step") };
        let b = first.dims()[0];
        let device = first.device();
        let h_size = self.d_hidden;
        let (mut h, mut c) = match state {
            Some(st) => (st.h, st.c),
            None => (Tensor::<2>::zeros([b, h_size], &device), Tensor::<2>::zeros([b, h_size], &device)),
        };
        let mut outputs: Vec<Option<Tensor<2>>> = vec![None; t_len];
        let order: Vec<usize> = if self.reverse { (0..t_len).rev().collect() } else { (0..t_len).collect() };
        let mut steps: Vec<Option<Tensor<2>>> = steps.into_iter().map(Some).collect();
        for t in order {
            let Some(x_t) = steps[t].take() else { unreachable!("each step is read once") };
            let xg = self.input.forward(x_t);
            let hg = self.hidden.forward(h.clone());
            let (h_new, c_new) = match self.cell {
                CellKind::Rnn => (tanh(xg + hg), None),
                CellKind::Lstm => {
                    let parts = (xg + hg).chunk(4, 1);
                    let [i, f, g, o]: [Tensor<2>; 4] = match parts.try_into() {
                        Ok(a) => a,
                        Err(_) => unreachable!("chunk(4) of a 4*H dimension gives 4 parts"),
                    };
                    let c_new = sigmoid(f) * c.clone() + sigmoid(i) * tanh(g);
                    (sigmoid(o) * tanh(c_new.clone()), Some(c_new))
                }
                CellKind::Gru => {
                    // r and z add the input and hidden parts; n gates the hidden part by r.
                    let xs = xg.chunk(3, 1);
                    let hs = hg.chunk(3, 1);
                    let r = sigmoid(xs[0].clone() + hs[0].clone());
                    let z = sigmoid(xs[1].clone() + hs[1].clone());
                    let n = tanh(xs[2].clone() + r * hs[2].clone());
                    (z.clone() * h.clone() + (z.neg() + 1.0) * n, None)
                }
            };
            match keep.map(|k| k[t].clone()) {
                Some(keep_t) => {
                    let drop = keep_t.clone().neg() + 1.0;
                    h = h_new * keep_t.clone() + h * drop.clone();
                    if let Some(c_new) = c_new {
                        c = c_new * keep_t + c * drop;
                    }
                }
                None => {
                    h = h_new;
                    if let Some(c_new) = c_new {
                        c = c_new;
                    }
                }
            }
            outputs[t] = Some(h.clone());
        }
        (outputs.into_iter().flatten().collect(), CellState { h, c })
    }
}

/// The state of one recurrent layer: hidden `h` and (LSTM) cell `c`, each `[batch, d_hidden]`.
#[derive(Debug, Clone)]
pub struct CellState {
    /// Hidden state.
    pub h: Tensor<2>,
    /// Cell state (zeros, unused, for RNN and GRU).
    pub c: Tensor<2>,
}

/// The state of every layer of a (unidirectional) [`RecurrentEncoder`].
#[derive(Debug, Clone)]
pub struct RecurrentState {
    /// One state per layer, bottom first.
    pub layers: Vec<CellState>,
}

/// Split `[batch, time, features]` into `time` tensors of `[batch, features]`.
pub fn split_steps(x: Tensor<3>) -> Vec<Tensor<2>> {
    let [b, _, d] = x.dims();
    x.swap_dims(0, 1).iter_dim(0).map(|s| s.reshape([b, d])).collect()
}

/// Per-step keep weights `[batch, 1]` (1 valid, 0 padded) from a padding mask `[batch, time]`.
pub fn keep_steps(mask_pad: &Tensor<2, Bool>) -> Vec<Tensor<2>> {
    let t = mask_pad.dims()[1];
    let keep = mask_pad.clone().bool_not().float();
    (0..t).map(|i| keep.clone().slice(s![.., i..i + 1])).collect()
}

/// Stacked (optionally bidirectional) recurrent layers with dropout between them, reading the
/// sequence step by step or, with `patch_len > 0`, patch by patch (as SegRNN does), which
/// shortens the recurrence by the patch stride.
#[derive(Module, Debug)]
pub struct RecurrentEncoder {
    /// Forward-direction layers.
    pub forward: Vec<RecurrentLayer>,
    /// Backward-direction layers (empty unless bidirectional).
    pub backward: Vec<RecurrentLayer>,
    /// Dropout between layers.
    pub dropout: Dropout,
    /// Hidden size of each direction.
    pub d_hidden: usize,
    /// Whether both directions are read.
    pub bidirectional: bool,
    /// Steps per patch (0: one step per recurrence step).
    pub patch_len: usize,
    /// Steps between patches.
    pub patch_stride: usize,
}

impl RecurrentEncoder {
    /// Read `x` (`[batch, steps, d_input]`, no patches, forward direction only) starting from
    /// `state`, returning per-step features and the state after the last step. Feeding a
    /// sequence in pieces gives the same features as feeding it whole, so generation costs one
    /// step per new token.
    ///
    /// # Panics
    /// For bidirectional or patched encoders, which cannot be read incrementally.
    pub fn forward_stateful(&self, x: Tensor<3>, state: Option<RecurrentState>) -> (Tensor<3>, RecurrentState) {
        assert!(
            !self.bidirectional && self.patch_len == 0,
            "forward_stateful: needs a unidirectional, unpatched encoder"
        );
        let mut steps = split_steps(x);
        let mut previous = state.map(|s| s.layers.into_iter());
        let mut layers = Vec::with_capacity(self.forward.len());
        let n = self.forward.len();
        for (i, layer) in self.forward.iter().enumerate() {
            let init = previous.as_mut().and_then(|it| it.next());
            let (out, st) = layer.forward_steps_from(steps, None, init);
            layers.push(st);
            steps = if i + 1 < n { out.into_iter().map(|o| self.dropout.forward(o)).collect() } else { out };
        }
        (Tensor::stack(steps, 1), RecurrentState { layers })
    }
}

impl SequenceEncoder for RecurrentEncoder {
    fn encode(&self, input: EncoderInput) -> EncoderOutput {
        let (x, mask) = patchify(input.x, input.mask_pad, self.patch_len, self.patch_stride);
        let keep = mask.as_ref().map(keep_steps);
        let mut steps = split_steps(x);
        let mut summary = None;
        let n = self.forward.len();
        for layer in 0..n {
            let (out_f, last_f) = self.forward[layer].forward_steps(steps.clone(), keep.as_deref());
            let (out, last) = if self.bidirectional {
                let (out_b, last_b) = self.backward[layer].forward_steps(steps, keep.as_deref());
                let out = out_f.into_iter().zip(out_b).map(|(f, b)| Tensor::cat(vec![f, b], 1)).collect();
                (out, Tensor::cat(vec![last_f, last_b], 1))
            } else {
                (out_f, last_f)
            };
            steps =
                if layer + 1 < n { out.into_iter().map(|o: Tensor<2>| self.dropout.forward(o)).collect() } else { out };
            summary = Some(last);
        }
        let Some(summary) = summary else { unreachable!("a recurrent encoder has at least one layer") };
        EncoderOutput { hidden: Tensor::stack(steps, 1), summary }
    }

    fn d_output(&self) -> usize {
        self.d_hidden * if self.bidirectional { 2 } else { 1 }
    }

    fn n_steps(&self, seq_length: usize) -> usize {
        n_tokens(self.patch_len, self.patch_stride, seq_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn encoder(cell: CellKind, bidirectional: bool) -> RecurrentEncoder {
        let device = Device::flex();
        device.seed(3);
        RecurrentEncoderConfig {
            cell,
            d_input: 3,
            d_hidden: 5,
            n_layers: 2,
            dropout: 0.0,
            bidirectional,
            patch_len: 0,
            patch_stride: 1,
        }
        .init(&device)
    }

    #[test]
    fn shapes_for_every_cell() {
        let device = Device::flex();
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            for bi in [false, true] {
                let enc = encoder(cell, bi);
                let x = Tensor::<3>::random([4, 7, 3], burn::tensor::Distribution::Default, &device);
                let out = enc.encode(EncoderInput::new(x));
                let d = if bi { 10 } else { 5 };
                assert_eq!(out.hidden.dims(), [4, 7, d], "{cell:?} bi={bi}");
                assert_eq!(out.summary.dims(), [4, d]);
                assert_eq!(enc.d_output(), d);
            }
        }
    }

    #[test]
    fn padding_does_not_change_the_summary() {
        // A sequence of 4 steps gives the same summary alone as when padded to 6 steps.
        let device = Device::flex();
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            let enc = encoder(cell, true);
            let short = Tensor::<3>::random([1, 4, 3], burn::tensor::Distribution::Default, &device);
            let padded = Tensor::cat(vec![short.clone(), Tensor::<3>::ones([1, 2, 3], &device) * 9.0], 1);
            let mask = Tensor::<2, Bool>::from_data(
                TensorData::new(vec![false, false, false, false, true, true], [1, 6]),
                &device,
            );
            let a = enc.encode(EncoderInput::new(short)).summary.into_data().try_to_vec::<f32>().expect("f32");
            let b = enc
                .encode(EncoderInput::new(padded).mask_pad(mask))
                .summary
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32");
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-5, "{cell:?}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn lstm_step_matches_hand_computation() {
        // One layer, one unit, weights set by hand: the first step from a zero state is
        // c = sigmoid(i) * tanh(g), h = sigmoid(o) * tanh(c).
        let device = Device::flex();
        let mut layer = RecurrentLayer::new(CellKind::Lstm, 1, 1, false, &device);
        let w = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -0.3, 0.8, 1.2], [1, 4]), &device);
        layer.input.weight = burn::module::Param::from_tensor(w);
        layer.input.bias = Some(burn::module::Param::from_tensor(Tensor::<1>::zeros([4], &device)));
        layer.hidden.bias = Some(burn::module::Param::from_tensor(Tensor::<1>::zeros([4], &device)));
        let x = Tensor::<3>::from_data(TensorData::new(vec![2.0f32], [1, 1, 1]), &device);
        let (_, h) = layer.forward(x, None);
        let h = h.into_data().try_to_vec::<f32>().expect("f32")[0];
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let c = sig(1.0) * (1.6f32).tanh();
        let expected = sig(2.4) * c.tanh();
        assert!((h - expected).abs() < 1e-6, "{h} vs {expected}");
    }

    fn fused(gates: &[&burn::nn::GateController]) -> (Linear, Linear) {
        let cat_w = |f: &dyn Fn(&burn::nn::GateController) -> &Linear| {
            Tensor::cat(gates.iter().map(|g| f(g).weight.val()).collect(), 1)
        };
        let cat_b = |f: &dyn Fn(&burn::nn::GateController) -> &Linear| {
            Tensor::cat(gates.iter().map(|g| f(g).bias.as_ref().expect("bias").val()).collect(), 0)
        };
        let mk = |w: Tensor<2>, b: Tensor<1>| {
            let [d_in, d_out] = w.dims();
            let mut lin = LinearConfig::new(d_in, d_out).init(&w.device());
            lin.weight = burn::module::Param::from_tensor(w);
            lin.bias = Some(burn::module::Param::from_tensor(b));
            lin
        };
        (
            mk(cat_w(&|g| &g.input_transform), cat_b(&|g| &g.input_transform)),
            mk(cat_w(&|g| &g.hidden_transform), cat_b(&|g| &g.hidden_transform)),
        )
    }

    fn max_diff(a: Tensor<3>, b: Tensor<3>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Same weights, same outputs as burn-nn's reference LSTM (gate order i, f, g, o).
    #[test]
    fn lstm_matches_burn_nn() {
        let device = Device::flex();
        device.seed(11);
        let reference = burn::nn::LstmConfig::new(3, 4, true).init(&device);
        let (input, hidden) = fused(&[
            &reference.input_gate,
            reference.forget_gate.as_ref().expect("forget gate"),
            &reference.cell_gate,
            &reference.output_gate,
        ]);
        let mut ours = RecurrentLayer::new(CellKind::Lstm, 3, 4, false, &device);
        ours.input = input;
        ours.hidden = hidden;
        let x = Tensor::<3>::random([2, 5, 3], burn::tensor::Distribution::Default, &device);
        let (expected, _) = reference.forward(x.clone(), None);
        let (got, _) = ours.forward(x, None);
        assert!(max_diff(expected, got) < 1e-5);
    }

    /// Same weights, same outputs as burn-nn's GRU with PyTorch's convention (reset after).
    #[test]
    fn gru_matches_burn_nn() {
        let device = Device::flex();
        device.seed(12);
        let reference = burn::nn::GruConfig::new(3, 4, true).with_reset_after(true).init(&device);
        let (input, hidden) = fused(&[&reference.reset_gate, &reference.update_gate, &reference.new_gate]);
        let mut ours = RecurrentLayer::new(CellKind::Gru, 3, 4, false, &device);
        ours.input = input;
        ours.hidden = hidden;
        let x = Tensor::<3>::random([2, 5, 3], burn::tensor::Distribution::Default, &device);
        let expected = reference.forward(x.clone(), None);
        let (got, _) = ours.forward(x, None);
        assert!(max_diff(expected, got) < 1e-5);
    }

    #[test]
    fn patches_shorten_the_recurrence() {
        let device = Device::flex();
        let enc = RecurrentEncoderConfig {
            cell: CellKind::Gru,
            d_input: 2,
            d_hidden: 6,
            n_layers: 2,
            dropout: 0.0,
            bidirectional: false,
            patch_len: 12,
            patch_stride: 12,
        }
        .init(&device);
        let x = Tensor::<3>::random([3, 96, 2], burn::tensor::Distribution::Default, &device);
        let out = enc.encode(EncoderInput::new(x));
        assert_eq!(out.hidden.dims(), [3, 8, 6]);
        assert_eq!(enc.n_steps(96), 8);
    }

    /// Carrying the state token by token gives the same features as reading the sequence whole.
    #[test]
    fn stateful_reading_equals_reading_whole() {
        let device = Device::flex();
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            let enc = encoder(cell, false);
            let x = Tensor::<3>::random([2, 6, 3], burn::tensor::Distribution::Default, &device);
            let (whole, _) = enc.forward_stateful(x.clone(), None);
            let mut state = None;
            let mut pieces = Vec::new();
            for t in 0..6 {
                let (out, st) = enc.forward_stateful(x.clone().slice(s![.., t..t + 1, ..]), state);
                pieces.push(out);
                state = Some(st);
            }
            let diff = max_diff(whole.clone(), Tensor::cat(pieces, 1));
            assert!(diff < 1e-5, "{cell:?}: {diff}");
            // And the same as the encoder's ordinary read.
            let hidden = enc.encode(EncoderInput::new(x)).hidden;
            assert!(max_diff(whole, hidden) < 1e-6);
        }
    }
}
