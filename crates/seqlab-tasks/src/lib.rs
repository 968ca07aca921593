//! Task heads for seqlab: the model a task trains, its loss, its metrics and its baselines.
//!
//! A task owns everything between the data and the optimiser: the backbone from the zoo knows
//! nothing of the task. Forecasting is here; language modelling and recognition follow the same
//! shape (a module with `forward`, a loss, an evaluation that writes metrics).
#![warn(missing_docs)]

pub mod forecast;
pub mod language;
pub mod loss;
pub mod metrics;
pub mod sampling;

pub use forecast::{Evaluation, Forecaster, ForecasterConfig, WindowForecast, evaluate};
pub use loss::forecast_loss;
pub use metrics::{ForecastMetrics, MetricAccumulator};
