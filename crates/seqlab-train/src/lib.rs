//! The seqlab training runner: optimiser, schedule, early stopping, checkpoints, evaluation and
//! the run folder.
//!
//! A run writes, under `runs/<experiment>/<run id>/`:
//! `config.toml` (the resolved config, written first), `run.log`, `metrics.csv` (one row per
//! epoch, epoch 0 being the untrained model), `checkpoints/best.bpk` and `checkpoints/last.bpk`,
//! `scaler.json`, `metrics.json` (stable flat keys), `predictions.csv` and two SVG charts.
#![warn(missing_docs)]

pub mod plot;
pub mod rundir;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, decay::WeightDecayConfig};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use seqlab_config::{BackendKind, ExperimentConfig, OptimizerKind, ScheduleKind};
use seqlab_data::DataError;
use seqlab_data::rng::SplitMix64;
use seqlab_data::timeseries::{SeriesDataset, Split};
use seqlab_tasks::{Evaluation, Forecaster, ForecasterConfig, evaluate, forecast_loss};
use serde_json::{Map, Value, json};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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
    #[error("training diverged at epoch {epoch} (loss {loss}); lower train.lr or set train.grad_clip. Run folder: {run_dir}")]
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

fn io_err(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Io { path: path.to_path_buf(), message: e.to_string() }
}

fn write_file(path: &Path, text: &str) -> Result<(), TrainError> {
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

/// What a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Per-epoch history (epoch 0 first).
    pub history: Vec<EpochRecord>,
    /// Epoch of the best checkpoint.
    pub best_epoch: usize,
    /// Test evaluation of the best checkpoint, with baselines.
    pub test: Evaluation,
    /// Validation evaluation of the best checkpoint.
    pub valid: Evaluation,
    /// Training wall time in seconds.
    pub train_seconds: f64,
    /// Trainable parameters.
    pub n_params: usize,
}

/// Logs to stderr (unless quiet) and to `run.log`.
struct Logger {
    file: Option<std::fs::File>,
    quiet: bool,
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

fn build_optimizer(cfg: &ExperimentConfig) -> ModuleOptimizer {
    let t = &cfg.train;
    let clip = t.grad_clip.map(|c| GradientClippingConfig::Norm(c as f32));
    match t.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_weight_decay((t.weight_decay > 0.0).then(|| WeightDecayConfig::new(t.weight_decay as f32)))
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_weight_decay(t.weight_decay as f32)
            .with_grad_clipping(clip)
            .init(),
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

/// Mean loss of a validation-mode model over every window of a split.
pub fn split_loss(model: &Forecaster, ds: &SeriesDataset, split: Split, cfg: &ExperimentConfig, device: &Device) -> f64 {
    let origins = ds.origins(split);
    let mut total = 0.0;
    for chunk in origins.chunks(cfg.train.eval_batch_size) {
        let batch = ds.batch(chunk, device);
        let pred = model.forward(batch.inputs);
        let loss = forecast_loss(pred, batch.targets, cfg.task.loss, cfg.task.huber_delta).into_scalar::<f32>();
        total += loss as f64 * chunk.len() as f64;
    }
    total / origins.len().max(1) as f64
}

fn metrics_csv(history: &[EpochRecord]) -> String {
    let mut s = String::from("epoch,train_loss,valid_loss,lr,seconds\n");
    for r in history {
        let train = if r.train_loss.is_nan() { String::new() } else { format!("{:.6}", r.train_loss) };
        s.push_str(&format!("{},{},{:.6},{:.3e},{:.2}\n", r.epoch, train, r.valid_loss, r.lr, r.seconds));
    }
    s
}

/// Train, evaluate and write the run folder for a resolved experiment.
pub fn run(cfg: &ExperimentConfig, config_toml: &str, opts: &RunOptions) -> Result<RunOutcome, TrainError> {
    let device = select_device(cfg.train.backend);
    let ds = SeriesDataset::from_config(&cfg.data)?;

    let root = PathBuf::from(&cfg.experiment.output_dir);
    let run_dir = rundir::create(&root, &cfg.experiment.name).map_err(|e| io_err(&root, e))?;
    write_file(&run_dir.join("config.toml"), config_toml)?;
    let ckpt_dir = run_dir.join("checkpoints");
    std::fs::create_dir_all(&ckpt_dir).map_err(|e| io_err(&ckpt_dir, e))?;
    let log_path = run_dir.join("run.log");
    let mut log = Logger { file: std::fs::File::create(&log_path).ok(), quiet: opts.quiet };
    write_file(&run_dir.join("scaler.json"), &serde_json::to_string_pretty(&ds.scaler.to_json(&ds.channels)).unwrap_or_default())?;

    let train_origins = ds.origins(Split::Train);
    log.line(&format!(
        "seqlab: {} | {} | {} rows ({} train / {} valid / {} test windows) | L={} H={} | {} -> {} channels",
        cfg.experiment.name,
        ds.path.display(),
        ds.rows(),
        train_origins.len(),
        ds.origins(Split::Valid).len(),
        ds.origins(Split::Test).len(),
        ds.lookback,
        ds.horizon,
        ds.channels_in(),
        ds.n_targets
    ));

    let seed = cfg.experiment.seed;
    let ad = device.clone().autodiff();
    device.seed(seed);
    ad.seed(seed);
    let model_cfg = ForecasterConfig::new(&cfg.model, &ds);
    let mut model = model_cfg.init(&ad);
    let n_params = model.num_params();
    log.line(&format!("model: {} ({n_params} parameters), backend: cpu (flex)", cfg.model.kind.name()));
    let mut optim = build_optimizer(cfg);

    let bs = cfg.train.batch_size;
    let mut steps_per_epoch = train_origins.len().div_ceil(bs);
    if let Some(cap) = cfg.train.max_steps_per_epoch {
        steps_per_epoch = steps_per_epoch.min(cap.max(1));
    }
    let total_steps = steps_per_epoch * cfg.train.epochs;
    let start = Instant::now();
    let mut history = Vec::new();
    let initial = split_loss(&model.valid(), &ds, Split::Valid, cfg, &device);
    history.push(EpochRecord { epoch: 0, train_loss: f64::NAN, valid_loss: initial, lr: 0.0, seconds: 0.0 });
    log.line(&format!("epoch 0 (untrained): valid {initial:.5}"));
    let best_path = ckpt_dir.join("best.bpk");
    let mut best = (f64::INFINITY, 0usize);
    let mut rng = SplitMix64::new(seed ^ 0x5EED);
    let mut step = 0usize;
    let mut lr = cfg.train.lr;
    let interactive = !opts.quiet && std::io::stderr().is_terminal();
    let mut since_best = 0usize;
    let stop_requested = || opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
    let mut interrupted = false;

    for epoch in 1..=cfg.train.epochs {
        let mut order = train_origins.clone();
        rng.shuffle(&mut order);
        let bar = if interactive {
            let bar = ProgressBar::new(steps_per_epoch as u64);
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} loss {msg} ({elapsed} < {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("{epoch}/{}", cfg.train.epochs));
            Some(bar)
        } else {
            None
        };
        let mut sum = 0.0f64;
        let mut n = 0usize;
        for chunk in order.chunks(bs).take(steps_per_epoch) {
            lr = learning_rate(cfg, step, total_steps, epoch);
            let batch = ds.batch(chunk, &ad);
            let pred = model.forward(batch.inputs);
            let loss = forecast_loss(pred, batch.targets, cfg.task.loss, cfg.task.huber_delta);
            let value = loss.clone().into_scalar::<f32>();
            if !value.is_finite() {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                let _ = model.valid().save_file(ckpt_dir.join("last.bpk"));
                write_file(&run_dir.join("metrics.csv"), &metrics_csv(&history))?;
                let err = TrainError::Diverged { epoch, loss: value, run_dir: run_dir.clone() };
                log.line(&format!("error: {err}"));
                return Err(err);
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            sum += value as f64;
            n += 1;
            step += 1;
            if let Some(bar) = &bar {
                bar.set_message(format!("{:.4}", sum / n as f64));
                bar.inc(1);
            }
            if stop_requested() {
                interrupted = true;
                break;
            }
        }
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let valid_model = model.valid();
        let valid_loss = split_loss(&valid_model, &ds, Split::Valid, cfg, &device);
        let seconds = start.elapsed().as_secs_f64();
        let train_loss = sum / n.max(1) as f64;
        history.push(EpochRecord { epoch, train_loss, valid_loss, lr, seconds });
        let improved = valid_loss < best.0;
        if improved {
            best = (valid_loss, epoch);
            since_best = 0;
            valid_model.clone().save_file(&best_path).map_err(|e| io_err(&best_path, e))?;
        } else {
            since_best += 1;
        }
        write_file(&run_dir.join("metrics.csv"), &metrics_csv(&history))?;
        let eta = seconds / epoch as f64 * (cfg.train.epochs - epoch) as f64;
        log.line(&format!(
            "epoch {epoch}/{}: train {train_loss:.5}  valid {valid_loss:.5}{}  lr {lr:.2e}  {seconds:.1}s (eta {eta:.0}s)",
            cfg.train.epochs,
            if improved { " *" } else { "" }
        ));
        if interrupted {
            log.line(&format!("interrupted in epoch {epoch}: keeping the best checkpoint and evaluating it"));
            break;
        }
        if cfg.train.patience > 0 && since_best >= cfg.train.patience {
            log.line(&format!("early stop: no better validation loss for {} epochs", cfg.train.patience));
            break;
        }
        if let Some(limit) = cfg.train.max_seconds {
            if seconds >= limit {
                log.line(&format!("time limit: {seconds:.0}s >= train.max_seconds = {limit}"));
                break;
            }
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let last_path = ckpt_dir.join("last.bpk");
    model.valid().save_file(&last_path).map_err(|e| io_err(&last_path, e))?;
    if !best_path.is_file() {
        model.valid().save_file(&best_path).map_err(|e| io_err(&best_path, e))?;
    }

    let best_model = load_checkpoint(&model_cfg, &best_path, &device)?;
    let valid = evaluate(&best_model, &ds, Split::Valid, cfg.task.seasonal_period, cfg.train.eval_batch_size, &device);
    let test = evaluate(&best_model, &ds, Split::Test, cfg.task.seasonal_period, cfg.train.eval_batch_size, &device);
    let outcome = RunOutcome { run_dir: run_dir.clone(), history, best_epoch: best.1, test, valid, train_seconds, n_params };
    write_reports(cfg, &ds, &outcome)?;
    log.line(&format!("best epoch {} | trained in {:.1}s", outcome.best_epoch, train_seconds));
    log.file_only(&summary_table(&outcome.test));
    Ok(outcome)
}

/// Load a checkpoint into a fresh model on `device`.
pub fn load_checkpoint(model_cfg: &ForecasterConfig, path: &Path, device: &Device) -> Result<Forecaster, TrainError> {
    if !path.is_file() {
        return Err(TrainError::Run(format!("checkpoint not found: {}", path.display())));
    }
    model_cfg
        .init(device)
        .try_load_file(path)
        .map_err(|e| TrainError::Run(format!("cannot load checkpoint {}: {e}", path.display())))
}

/// Flat, stable metric keys: `test.mse`, `baseline.persistence.rmse`, `valid.mae`, ...
pub fn metrics_json(outcome: &RunOutcome) -> Value {
    let mut m = Map::new();
    for (k, v) in outcome.test.model.entries() {
        m.insert(format!("test.{k}"), json!(v));
    }
    for (name, met) in &outcome.test.baselines {
        for (k, v) in met.entries() {
            m.insert(format!("baseline.{name}.{k}"), json!(v));
        }
    }
    for (k, v) in outcome.valid.model.entries() {
        m.insert(format!("valid.{k}"), json!(v));
    }
    m.insert("test.windows".into(), json!(outcome.test.windows.len()));
    m.insert("train.best_epoch".into(), json!(outcome.best_epoch));
    m.insert("train.epochs_run".into(), json!(outcome.history.len().saturating_sub(1)));
    m.insert("train.seconds".into(), json!(outcome.train_seconds));
    m.insert("train.best_valid_loss".into(), json!(outcome.history.iter().skip(1).map(|r| r.valid_loss).fold(f64::INFINITY, f64::min)));
    m.insert("train.initial_valid_loss".into(), json!(outcome.history.first().map(|r| r.valid_loss)));
    m.insert("model.parameters".into(), json!(outcome.n_params));
    Value::Object(m)
}

/// Windows whose forecasts go to `predictions.csv`: all of them when the file stays under
/// ~250k rows, else non-overlapping windows (every `horizon`-th), which still forecast every
/// test row exactly once.
fn prediction_windows(ds: &SeriesDataset, eval: &Evaluation) -> Vec<usize> {
    let all = eval.windows.len() * ds.horizon * ds.n_targets;
    if all <= 250_000 {
        (0..eval.windows.len()).collect()
    } else {
        (0..eval.windows.len()).step_by(ds.horizon).collect()
    }
}

fn write_reports(cfg: &ExperimentConfig, ds: &SeriesDataset, out: &RunOutcome) -> Result<(), TrainError> {
    let dir = &out.run_dir;
    let text = serde_json::to_string_pretty(&metrics_json(out)).unwrap_or_default();
    write_file(&dir.join("metrics.json"), &(text + "\n"))?;

    // predictions.csv
    let t = ds.n_targets;
    let mut csv = String::from("origin_timestamp,timestamp,step,target,actual,forecast\n");
    for i in prediction_windows(ds, &out.test) {
        let w = &out.test.windows[i];
        let origin_ts = &ds.timestamps[w.origin.saturating_sub(1)];
        for k in 0..ds.horizon {
            for c in 0..t {
                csv.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    origin_ts,
                    ds.timestamps[w.origin + k],
                    k + 1,
                    ds.channels[c],
                    w.actual[k * t + c],
                    w.forecast[k * t + c]
                ));
            }
        }
    }
    write_file(&dir.join("predictions.csv"), &csv)?;

    // Loss curves.
    let train: Vec<(f64, f64)> = out.history.iter().skip(1).map(|r| (r.epoch as f64, r.train_loss)).collect();
    let valid: Vec<(f64, f64)> = out.history.iter().map(|r| (r.epoch as f64, r.valid_loss)).collect();
    let svg = plot::line_chart(
        &format!("{}: loss per epoch ({:?})", cfg.experiment.name, cfg.task.loss).to_lowercase(),
        "epoch",
        "loss",
        &[
            plot::Series { label: "train", color: "#1f77b4", points: train, dashed: false },
            plot::Series { label: "valid", color: "#d62728", points: valid, dashed: false },
        ],
    );
    write_file(&dir.join("loss.svg"), &svg)?;

    // Forecast vs actual on the test tail: the first target, the last ~8 horizons (at least
    // 200 rows), forecasts from non-overlapping windows.
    let windows = &out.test.windows;
    if let Some(last) = windows.last() {
        let span = (ds.horizon * 8).max(200);
        let first_row = (last.origin + ds.horizon).saturating_sub(span).max(windows[0].origin);
        let actual: Vec<(f64, f64)> = (first_row..last.origin + ds.horizon).map(|r| (r as f64, ds.level(r, 0))).collect();
        let mut forecast = Vec::new();
        let mut origin = last.origin;
        let mut picked = Vec::new();
        loop {
            if origin < first_row || origin < windows[0].origin {
                break;
            }
            picked.push(origin);
            if origin < ds.horizon {
                break;
            }
            origin -= ds.horizon;
        }
        picked.reverse();
        for o in picked {
            let w = &windows[o - windows[0].origin];
            for k in 0..ds.horizon {
                forecast.push(((o + k) as f64, w.forecast[k * t]));
            }
            forecast.push((f64::NAN, f64::NAN));
        }
        let time_of = |x: f64| {
            let r = x.round();
            if r >= 0.0 && (r as usize) < ds.rows() { ds.timestamps[r as usize].clone() } else { String::new() }
        };
        let svg = plot::line_chart_with(
            &format!("{}: {}, {}-step forecasts from successive origins, test tail", cfg.experiment.name, ds.channels[0], ds.horizon),
            "time",
            &ds.channels[0],
            &[
                plot::Series { label: "actual", color: "#222222", points: actual, dashed: false },
                plot::Series { label: "forecast", color: "#d62728", points: forecast, dashed: false },
            ],
            &time_of,
        );
        write_file(&dir.join("forecast.svg"), &svg)?;
    }
    Ok(())
}

/// A short table of the model against the baselines.
pub fn summary_table(eval: &Evaluation) -> String {
    let mut s = format!(
        "{:<16} {:>10} {:>10} {:>12} {:>9} {:>9} {:>8}\n",
        format!("{} split", eval.split.name()),
        "MSE(norm)",
        "MAE(norm)",
        "RMSE",
        "MAPE%",
        "sMAPE%",
        "MASE"
    );
    let mut row = |name: &str, m: &seqlab_tasks::ForecastMetrics| {
        s.push_str(&format!(
            "{:<16} {:>10.4} {:>10.4} {:>12.4} {:>9.3} {:>9.3} {:>8.4}\n",
            name, m.mse, m.mae, m.rmse, m.mape, m.smape, m.mase
        ));
    };
    row("model", &eval.model);
    for (name, m) in &eval.baselines {
        row(name, m);
    }
    s
}

/// Re-evaluate a saved run on its test split with its best checkpoint.
pub fn eval_run(run_dir: &Path, cfg: &ExperimentConfig) -> Result<Evaluation, TrainError> {
    let device = select_device(cfg.train.backend);
    let ds = SeriesDataset::from_config(&cfg.data)?;
    let model_cfg = ForecasterConfig::new(&cfg.model, &ds);
    let model = load_checkpoint(&model_cfg, &run_dir.join("checkpoints").join("best.bpk"), &device)?;
    Ok(evaluate(&model, &ds, Split::Test, cfg.task.seasonal_period, cfg.train.eval_batch_size, &device))
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
