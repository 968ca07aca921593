//! Recurrent encoders: Elman RNN, LSTM and GRU, stacked, optionally bidirectional.
//!
//! Each layer projects the whole input sequence once (`x W_ih + b_ih`, one matrix product for all
//! time steps) and then runs the recurrence with one fused matrix product per step for all gates
//! (`h W_hh + b_hh`). Gate order and formulas follow PyTorch (`i, f, g, o` for LSTM; `r, z, n`
//! for GRU with `n = tanh(x_n + r * (h W_hn + b_hn))`).
//!
//! With a padding mask, the state is frozen at padded steps, so the summary of each sequence is
//! its last valid state, and the backward direction starts at its last valid step.

use crate::encoder::{EncoderInput, EncoderOutput, SequenceEncoder};
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
}

impl RecurrentEncoderConfig {
    /// Build the encoder.
    pub fn init(&self, device: &Device) -> RecurrentEncoder {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let mut forward = Vec::new();
        let mut backward = Vec::new();
        for layer in 0..self.n_layers {
            let d_in = if layer == 0 { self.d_input } else { self.d_hidden * dirs };
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
        let [b, t_len, _] = x.dims();
        let h_size = self.d_hidden;
        let gh = self.cell.gates() * h_size;
        let device = x.device();
        let xp = self.input.forward(x);
        let mut h = Tensor::<2>::zeros([b, h_size], &device);
        let mut c = Tensor::<2>::zeros([b, h_size], &device);
        let mut outputs = Vec::with_capacity(t_len);
        let steps: Vec<usize> = if self.reverse { (0..t_len).rev().collect() } else { (0..t_len).collect() };
        for t in steps {
            let xt = xp.clone().slice(s![.., t..t + 1, ..]).reshape([b, gh]);
            let hp = self.hidden.forward(h.clone());
            let (h_new, c_new) = match self.cell {
                CellKind::Rnn => (tanh(xt + hp), None),
                CellKind::Lstm => {
                    let gates = (xt + hp).chunk(4, 1);
                    let [i, f, g, o]: [Tensor<2>; 4] = match gates.try_into() {
                        Ok(a) => a,
                        Err(_) => unreachable!("chunk(4) of a 4*H dimension gives 4 parts"),
                    };
                    let c_new = sigmoid(f) * c.clone() + sigmoid(i) * tanh(g);
                    (sigmoid(o) * tanh(c_new.clone()), Some(c_new))
                }
                CellKind::Gru => {
                    let xs = xt.chunk(3, 1);
                    let hs = hp.chunk(3, 1);
                    let r = sigmoid(xs[0].clone() + hs[0].clone());
                    let z = sigmoid(xs[1].clone() + hs[1].clone());
                    let n = tanh(xs[2].clone() + r * hs[2].clone());
                    let h_new = z.clone() * h.clone() + (z.neg() + 1.0) * n;
                    (h_new, None)
                }
            };
            match mask_pad {
                Some(mask) => {
                    let keep = mask.clone().slice(s![.., t..t + 1]).bool_not().float();
                    let drop = keep.clone().neg() + 1.0;
                    h = h_new * keep.clone() + h * drop.clone();
                    if let Some(c_new) = c_new {
                        c = c_new * keep + c * drop;
                    }
                }
                None => {
                    h = h_new;
                    if let Some(c_new) = c_new {
                        c = c_new;
                    }
                }
            }
            outputs.push(h.clone());
        }
        if self.reverse {
            outputs.reverse();
        }
        (Tensor::stack(outputs, 1), h)
    }
}

/// Stacked (optionally bidirectional) recurrent layers with dropout between them.
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
}

impl SequenceEncoder for RecurrentEncoder {
    fn encode(&self, input: EncoderInput) -> EncoderOutput {
        let mask = input.mask_pad.as_ref();
        let mut x = input.x;
        let mut summary = None;
        let n = self.forward.len();
        for layer in 0..n {
            let (out_f, last_f) = self.forward[layer].forward(x.clone(), mask);
            let (out, last) = if self.bidirectional {
                let (out_b, last_b) = self.backward[layer].forward(x, mask);
                (Tensor::cat(vec![out_f, out_b], 2), Tensor::cat(vec![last_f, last_b], 1))
            } else {
                (out_f, last_f)
            };
            x = if layer + 1 < n { self.dropout.forward(out) } else { out };
            summary = Some(last);
        }
        let summary = match summary {
            Some(s) => s,
            None => unreachable!("a recurrent encoder has at least one layer"),
        };
        EncoderOutput { hidden: x, summary }
    }

    fn d_output(&self) -> usize {
        self.d_hidden * if self.bidirectional { 2 } else { 1 }
    }

    fn n_steps(&self, seq_length: usize) -> usize {
        seq_length
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn encoder(cell: CellKind, bidirectional: bool) -> RecurrentEncoder {
        let device = Device::flex();
        device.seed(3);
        RecurrentEncoderConfig { cell, d_input: 3, d_hidden: 5, n_layers: 2, dropout: 0.0, bidirectional }.init(&device)
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
            let b = enc.encode(EncoderInput::new(padded).mask_pad(mask)).summary.into_data().try_to_vec::<f32>().expect("f32");
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
}
