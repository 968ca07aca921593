//! The seqlab training runner: optimiser, schedule, early stopping, checkpoints, evaluation and
//! the run folder.
//!
//! A run writes, under `runs/<experiment>/<run id>/`:
//! `config.toml` (the resolved config, written first), `run.log`, `metrics.csv` (one row per
//! epoch, epoch 0 being the untrained model), `checkpoints/best.bpk` and `checkpoints/last.bpk`,
//! `scaler.json`, `metrics.json` (stable flat keys), `predictions.csv` and two SVG charts.
#![warn(missing_docs)]

pub mod fit;
pub mod forecast;
pub mod language;
pub mod plot;
pub mod rundir;

pub use fit::{FitOutcome, RunContext, TrainTask, fit};
pub use forecast::{
    ForecastTask, RunOutcome, eval_run, load_checkpoint, metrics_json, run_forecast, split_loss, summary_table,
};

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, decay::WeightDecayConfig};
use burn::prelude::*;
use seqlab_config::{BackendKind, ExperimentConfig, OptimizerKind, ScheduleKind};
use seqlab_data::DataError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Data could not be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file of the run folder could not be written or read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The loss became NaN or infinite.
    #[error(
        "training diverged at epoch {epoch} (loss {loss}); lower train.lr or set train.grad_clip. Run folder: {run_dir}"
    )]
    Diverged {
        /// Epoch.
        epoch: usize,
        /// The bad loss.
        loss: f32,
        /// Where the run so far was kept.
        run_dir: PathBuf,
    },
    /// A run folder is missing a file or does not match this build.
    #[error("{0}")]
    Run(String),
}

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Io { path: path.to_path_buf(), message: e.to_string() }
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), TrainError> {
    std::fs::write(path, text).map_err(|e| io_err(path, e))
}

/// The compute device for a backend choice. The default build has the pure-Rust CPU backend.
pub fn select_device(backend: BackendKind) -> Device {
    match backend {
        BackendKind::Cpu | BackendKind::Auto => Device::flex(),
    }
}

/// Options of a run that are not part of the experiment.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Print nothing but errors (tests).
    pub quiet: bool,
    /// Set (e.g. by a Ctrl-C handler) to stop training after the current step; the run then
    /// saves its checkpoints and evaluates the best one as usual.
    pub stop: Option<Arc<AtomicBool>>,
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone)]
pub struct EpochRecord {
    /// Epoch (0 = before training).
    pub epoch: usize,
    /// Mean training loss (NaN for epoch 0).
    pub train_loss: f64,
    /// Validation loss.
    pub valid_loss: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Seconds since the start of training.
    pub seconds: f64,
}

/// Logs to stderr (unless quiet) and to `run.log`.
pub(crate) struct Logger {
    pub(crate) file: Option<std::fs::File>,
    pub(crate) quiet: bool,
}

impl Logger {
    fn line(&mut self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
        self.file_only(text);
    }

    fn file_only(&mut self, text: &str) {
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{text}");
        }
    }
}

pub(crate) fn build_optimizer(cfg: &ExperimentConfig) -> ModuleOptimizer {
    let t = &cfg.train;
    let clip = t.grad_clip.map(|c| GradientClippingConfig::Norm(c as f32));
    match t.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_weight_decay((t.weight_decay > 0.0).then(|| WeightDecayConfig::new(t.weight_decay as f32)))
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::Adamw => {
            AdamWConfig::new().with_weight_decay(t.weight_decay as f32).with_grad_clipping(clip).init()
        }
    }
}

/// Learning rate at optimiser step `step` (0-based) of `total`, in `epoch` (1-based).
pub fn learning_rate(cfg: &ExperimentConfig, step: usize, total: usize, epoch: usize) -> f64 {
    let t = &cfg.train;
    let base = match t.schedule {
        ScheduleKind::Constant => t.lr,
        ScheduleKind::Cosine => {
            let progress = step as f64 / total.max(1) as f64;
            t.min_lr + 0.5 * (t.lr - t.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
        }
        ScheduleKind::Step => t.lr * t.gamma.powi(((epoch - 1) / t.step_epochs.max(1)) as i32),
    };
    if step < t.warmup_steps { base * (step + 1) as f64 / t.warmup_steps as f64 } else { base }
}

/// `metrics.csv`: one row per epoch.
pub(crate) fn metrics_csv(history: &[EpochRecord]) -> String {
    let mut s = String::from("epoch,train_loss,valid_loss,lr,seconds\n");
    for r in history {
        let train = if r.train_loss.is_nan() { String::new() } else { format!("{:.6}", r.train_loss) };
        s.push_str(&format!("{},{},{:.6},{:.3e},{:.2}\n", r.epoch, train, r.valid_loss, r.lr, r.seconds));
    }
    s
}

/// What any finished run reports to its caller.
#[derive(Debug)]
pub struct RunReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Epoch of the best checkpoint.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Training wall time in seconds.
    pub train_seconds: f64,
    /// A short human-readable result (a table of model against baselines, or LM metrics).
    pub summary: String,
}

/// Train, evaluate and write the run folder for a resolved experiment, for its task kind.
pub fn run(cfg: &ExperimentConfig, config_toml: &str, opts: &RunOptions) -> Result<RunReport, TrainError> {
    match cfg.task.kind {
        seqlab_config::TaskKind::Forecast => {
            let out = run_forecast(cfg, config_toml, opts)?;
            Ok(RunReport {
                run_dir: out.run_dir.clone(),
                best_epoch: out.best_epoch,
                epochs_run: out.history.len().saturating_sub(1),
                train_seconds: out.train_seconds,
                summary: format!("{} test windows\n{}", out.test.windows.len(), summary_table(&out.test)),
            })
        }
        seqlab_config::TaskKind::LanguageModel => language::run_language_model(cfg, config_toml, opts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let mut cfg = ExperimentConfig::default();
        cfg.train.lr = 1.0;
        cfg.train.schedule = ScheduleKind::Cosine;
        cfg.train.min_lr = 0.0;
        assert!((learning_rate(&cfg, 0, 100, 1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&cfg, 50, 100, 1) - 0.5).abs() < 1e-12);
        assert!(learning_rate(&cfg, 100, 100, 1).abs() < 1e-12);
        cfg.train.schedule = ScheduleKind::Step;
        cfg.train.step_epochs = 2;
        cfg.train.gamma = 0.1;
        assert!((learning_rate(&cfg, 0, 100, 2) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&cfg, 0, 100, 3) - 0.1).abs() < 1e-12);
        cfg.train.schedule = ScheduleKind::Constant;
        cfg.train.warmup_steps = 4;
        assert!((learning_rate(&cfg, 1, 100, 1) - 0.5).abs() < 1e-12);
        assert!((learning_rate(&cfg, 4, 100, 1) - 1.0).abs() < 1e-12);
    }
}
