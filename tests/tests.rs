//! End-to-end tests: the real `seqlab` binary on real data.
//!
//! Data: `datasets/` (committed MSFT prices) and the data root for ETTh1, taken from
//! `SEQLAB_DATA_ROOT` or `../shared/datasets` next to the project.

mod cli;
mod configs;
mod forecasting;
mod language;
mod util;
