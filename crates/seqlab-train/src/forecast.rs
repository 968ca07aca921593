//! The forecasting task on the training loop: data, model, evaluation against baselines and
//! the forecasting reports of the run folder.

use crate::fit::{RunContext, TrainTask, fit};
use crate::{EpochRecord, RunOptions, TrainError, plot, select_device, write_file};
use burn::module::Module;
use burn::prelude::*;
use seqlab_config::ExperimentConfig;
use seqlab_data::timeseries::{SeriesDataset, Split};
use seqlab_tasks::{Evaluation, Forecaster, ForecasterConfig, evaluate, forecast_loss};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// Forecasting as a [`TrainTask`]: training windows by index, validation loss over every
/// validation window.
pub struct ForecastTask<'a> {
    /// The prepared series.
    pub data: &'a SeriesDataset,
    /// The experiment.
    pub cfg: &'a ExperimentConfig,
    origins: Vec<usize>,
}

impl<'a> ForecastTask<'a> {
    /// A task over `data`'s training windows.
    pub fn new(data: &'a SeriesDataset, cfg: &'a ExperimentConfig) -> Self {
        Self { data, cfg, origins: data.origins(Split::Train) }
    }
}

impl TrainTask for ForecastTask<'_> {
    type Model = Forecaster;

    fn train_len(&self) -> usize {
        self.origins.len()
    }

    fn batch_loss(&self, model: &Forecaster, batch: &[usize], device: &Device) -> Tensor<1> {
        let origins: Vec<usize> = batch.iter().map(|&i| self.origins[i]).collect();
        let b = self.data.batch(&origins, device);
        forecast_loss(model.forward(b.inputs), b.targets, self.cfg.task.loss, self.cfg.task.huber_delta)
    }

    fn valid_loss(&self, model: &Forecaster, device: &Device) -> f64 {
        split_loss(model, self.data, Split::Valid, self.cfg, device)
    }
}

/// What a finished forecasting run produced.
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

/// Mean loss of a validation-mode model over every window of a split.
pub fn split_loss(
    model: &Forecaster,
    ds: &SeriesDataset,
    split: Split,
    cfg: &ExperimentConfig,
    device: &Device,
) -> f64 {
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

/// Train a forecaster, evaluate its best checkpoint against the baselines, write the run folder.
pub fn run_forecast(cfg: &ExperimentConfig, config_toml: &str, opts: &RunOptions) -> Result<RunOutcome, TrainError> {
    let device = select_device(cfg.train.backend);
    let ds = SeriesDataset::from_config(&cfg.data)?;
    let mut ctx = RunContext::create(cfg, config_toml, opts)?;
    write_file(
        &ctx.dir.join("scaler.json"),
        &serde_json::to_string_pretty(&ds.scaler.to_json(&ds.channels)).unwrap_or_default(),
    )?;
    ctx.log(&format!(
        "seqlab: {} | {} | {} rows ({} train / {} valid / {} test windows) | L={} H={} | {} -> {} channels",
        cfg.experiment.name,
        ds.path.display(),
        ds.rows(),
        ds.origins(Split::Train).len(),
        ds.origins(Split::Valid).len(),
        ds.origins(Split::Test).len(),
        ds.lookback,
        ds.horizon,
        ds.channels_in(),
        ds.n_targets
    ));
    let ad = device.clone().autodiff();
    device.seed(cfg.experiment.seed);
    ad.seed(cfg.experiment.seed);
    let model_cfg = ForecasterConfig::new(&cfg.model, &ds);
    let model = model_cfg.init(&ad);
    let n_params = model.num_params();
    ctx.log(&format!("model: {} ({n_params} parameters), backend: cpu (flex)", cfg.model.kind.name()));

    let task = ForecastTask::new(&ds, cfg);
    let fitted = fit(&task, model, cfg, &device, &mut ctx, opts)?;

    let best_model = load_checkpoint(&model_cfg, &fitted.best, &device)?;
    let valid = evaluate(&best_model, &ds, Split::Valid, cfg.task.seasonal_period, cfg.train.eval_batch_size, &device);
    let test = evaluate(&best_model, &ds, Split::Test, cfg.task.seasonal_period, cfg.train.eval_batch_size, &device);
    let outcome = RunOutcome {
        run_dir: ctx.dir.clone(),
        history: fitted.history,
        best_epoch: fitted.best_epoch,
        test,
        valid,
        train_seconds: fitted.seconds,
        n_params,
    };
    write_reports(cfg, &ds, &outcome)?;
    ctx.log(&format!("best epoch {} | trained in {:.1}s", outcome.best_epoch, outcome.train_seconds));
    ctx.log_file_only(&summary_table(&outcome.test));
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
    m.insert(
        "train.best_valid_loss".into(),
        json!(outcome.history.iter().skip(1).map(|r| r.valid_loss).fold(f64::INFINITY, f64::min)),
    );
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
        let actual: Vec<(f64, f64)> =
            (first_row..last.origin + ds.horizon).map(|r| (r as f64, ds.level(r, 0))).collect();
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
            &format!(
                "{}: {}, {}-step forecasts from successive origins, test tail",
                cfg.experiment.name, ds.channels[0], ds.horizon
            ),
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
