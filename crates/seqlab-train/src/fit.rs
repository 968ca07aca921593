//! The task-independent training loop: shuffling, schedule, optimiser steps, validation,
//! early stopping, checkpoints, progress and interruption.

use crate::{
    EpochRecord, Logger, RunOptions, TrainError, build_optimizer, io_err, learning_rate, metrics_csv, write_file,
};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use seqlab_config::ExperimentConfig;
use seqlab_data::rng::SplitMix64;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What the training loop needs from a task (forecasting, language modelling, recognition).
///
/// The loop draws training examples by index, asks the task for the loss of each batch on the
/// autodiff device, and for the validation loss of a validation-mode model.
pub trait TrainTask {
    /// The model the task trains.
    type Model: Module + Clone;
    /// Number of training examples.
    fn train_len(&self) -> usize;
    /// Mean loss of training examples `batch` (indices below [`train_len`](Self::train_len))
    /// on `device` (an autodiff device).
    fn batch_loss(&self, model: &Self::Model, batch: &[usize], device: &Device) -> Tensor<1>;
    /// Mean validation loss of a validation-mode model on a plain device.
    fn valid_loss(&self, model: &Self::Model, device: &Device) -> f64;
}

/// The folder of a run and its log, shared by the loop and the task's reports.
pub struct RunContext {
    /// `runs/<experiment>/<run id>/`.
    pub dir: PathBuf,
    pub(crate) log: Logger,
}

impl RunContext {
    /// Create a run folder and write the resolved config into it first.
    pub fn create(cfg: &ExperimentConfig, config_toml: &str, opts: &RunOptions) -> Result<Self, TrainError> {
        let root = PathBuf::from(&cfg.experiment.output_dir);
        let dir = crate::rundir::create(&root, &cfg.experiment.name).map_err(|e| io_err(&root, e))?;
        write_file(&dir.join("config.toml"), config_toml)?;
        let ckpt = dir.join("checkpoints");
        std::fs::create_dir_all(&ckpt).map_err(|e| io_err(&ckpt, e))?;
        let log = Logger { file: std::fs::File::create(dir.join("run.log")).ok(), quiet: opts.quiet };
        let mut ctx = Self { dir, log };
        ctx.log_file_only(&format!("started {} (seqlab {})", crate::rundir::iso_now(), env!("CARGO_PKG_VERSION")));
        Ok(ctx)
    }

    /// Print a line (unless quiet) and append it to `run.log`.
    pub fn log(&mut self, text: &str) {
        self.log.line(text);
    }

    /// Append a line to `run.log` only.
    pub fn log_file_only(&mut self, text: &str) {
        self.log.file_only(text);
    }

    /// Path of a checkpoint (`best` or `last`).
    pub fn checkpoint(&self, name: &str) -> PathBuf {
        self.dir.join("checkpoints").join(format!("{name}.bpk"))
    }
}

/// What [`fit`] leaves behind.
#[derive(Debug)]
pub struct FitOutcome {
    /// Per-epoch history, epoch 0 (untrained) first.
    pub history: Vec<EpochRecord>,
    /// Epoch of the best checkpoint (0 if no epoch finished).
    pub best_epoch: usize,
    /// Training wall time in seconds.
    pub seconds: f64,
    /// Path of the best checkpoint (always written).
    pub best: PathBuf,
}

fn save<M: Module>(model: M, path: &Path) -> Result<(), TrainError> {
    model.save_file(path).map_err(|e| io_err(path, e))
}

/// Train `model` on `task` with the `[train]` section of `cfg`, writing `metrics.csv` and the
/// best and last checkpoints into the run folder as it goes.
pub fn fit<T: TrainTask>(
    task: &T,
    mut model: T::Model,
    cfg: &ExperimentConfig,
    device: &Device,
    ctx: &mut RunContext,
    opts: &RunOptions,
) -> Result<FitOutcome, TrainError> {
    let ad = device.clone().autodiff();
    let mut optim = build_optimizer(cfg);
    let bs = cfg.train.batch_size;
    let mut steps_per_epoch = task.train_len().div_ceil(bs);
    if let Some(cap) = cfg.train.max_steps_per_epoch {
        steps_per_epoch = steps_per_epoch.min(cap.max(1));
    }
    let total_steps = steps_per_epoch * cfg.train.epochs;
    let start = Instant::now();
    let mut history = Vec::new();
    let initial = task.valid_loss(&model.valid(), device);
    history.push(EpochRecord { epoch: 0, train_loss: f64::NAN, valid_loss: initial, lr: 0.0, seconds: 0.0 });
    ctx.log(&format!("epoch 0 (untrained): valid {initial:.5}"));
    let best_path = ctx.checkpoint("best");
    let mut best = (f64::INFINITY, 0usize);
    let mut rng = SplitMix64::new(cfg.experiment.seed ^ 0x5EED);
    let mut step = 0usize;
    let mut lr = cfg.train.lr;
    let interactive = !opts.quiet && std::io::stderr().is_terminal();
    let mut since_best = 0usize;
    let stop_requested = || opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
    let mut interrupted = false;
    let metrics_path = ctx.dir.join("metrics.csv");

    for epoch in 1..=cfg.train.epochs {
        let mut order: Vec<usize> = (0..task.train_len()).collect();
        rng.shuffle(&mut order);
        let bar = interactive.then(|| {
            let bar = ProgressBar::new(steps_per_epoch as u64);
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} loss {msg} ({elapsed} < {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("{epoch}/{}", cfg.train.epochs));
            bar
        });
        let mut sum = 0.0f64;
        let mut n = 0usize;
        for chunk in order.chunks(bs).take(steps_per_epoch) {
            lr = learning_rate(cfg, step, total_steps, epoch);
            let loss = task.batch_loss(&model, chunk, &ad);
            let value = loss.clone().into_scalar::<f32>();
            if !value.is_finite() {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                let _ = save(model.valid(), &ctx.checkpoint("last"));
                write_file(&metrics_path, &metrics_csv(&history))?;
                let err = TrainError::Diverged { epoch, loss: value, run_dir: ctx.dir.clone() };
                ctx.log(&format!("error: {err}"));
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
        let valid_loss = task.valid_loss(&valid_model, device);
        let seconds = start.elapsed().as_secs_f64();
        let train_loss = sum / n.max(1) as f64;
        history.push(EpochRecord { epoch, train_loss, valid_loss, lr, seconds });
        let improved = valid_loss < best.0;
        if improved {
            best = (valid_loss, epoch);
            since_best = 0;
            save(valid_model, &best_path)?;
        } else {
            since_best += 1;
        }
        write_file(&metrics_path, &metrics_csv(&history))?;
        let eta = seconds / epoch as f64 * (cfg.train.epochs - epoch) as f64;
        ctx.log(&format!(
            "epoch {epoch}/{}: train {train_loss:.5}  valid {valid_loss:.5}{}  lr {lr:.2e}  {seconds:.1}s (eta {eta:.0}s)",
            cfg.train.epochs,
            if improved { " *" } else { "" }
        ));
        if interrupted {
            ctx.log(&format!("interrupted in epoch {epoch}: keeping the best checkpoint and evaluating it"));
            break;
        }
        if cfg.train.patience > 0 && since_best >= cfg.train.patience {
            ctx.log(&format!("early stop: no better validation loss for {} epochs", cfg.train.patience));
            break;
        }
        if let Some(limit) = cfg.train.max_seconds
            && seconds >= limit
        {
            ctx.log(&format!("time limit: {seconds:.0}s >= train.max_seconds = {limit}"));
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    save(model.valid(), &ctx.checkpoint("last"))?;
    if !best_path.is_file() {
        save(model.valid(), &best_path)?;
    }
    Ok(FitOutcome { history, best_epoch: best.1, seconds, best: best_path })
}
