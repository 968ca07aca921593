//! The seqlab model zoo.
//!
//! Sequence encoders (Elman RNN, LSTM, GRU, Transformer) share one interface,
//! [`SequenceEncoder`]: `[batch, time, d_input]` in, per-step features and a summary out, with an
//! optional padding mask. Task heads (forecasting, language modelling, recognition) sit on top of
//! any encoder. [`DLinear`] is a complete linear forecaster, and [`RevIn`] normalises each input
//! window for any model.
#![warn(missing_docs)]

pub mod dlinear;
pub mod encoder;
pub mod recurrent;
pub mod revin;
pub mod transformer;

pub use dlinear::{DLinear, DLinearConfig};
pub use encoder::{Encoder, EncoderConfig, EncoderInput, EncoderOutput, SequenceEncoder};
pub use recurrent::{CellKind, CellState, RecurrentEncoder, RecurrentEncoderConfig, RecurrentState};
pub use revin::RevIn;
pub use transformer::{TransformerSeqEncoder, TransformerSeqEncoderConfig};
