//! The language-modelling task on the training loop: random blocks of the training stream,
//! validation over every block of the validation stream, and the run folder.

use crate::fit::{RunContext, TrainTask, fit};
use crate::{RunOptions, RunReport, TrainError, plot, select_device, write_file};
use burn::module::Module;
use burn::prelude::*;
use seqlab_config::ExperimentConfig;
use seqlab_data::text::{BlockSampler, TextCorpus};
use seqlab_tasks::language::{LanguageModel, LanguageModelConfig, LmMetrics, lm_loss};
use serde_json::json;
use std::cell::RefCell;

/// Optimiser steps per "epoch" (one validation pass) when `train.max_steps_per_epoch` is unset.
pub const DEFAULT_STEPS_PER_EPOCH: usize = 250;

/// Language modelling as a [`TrainTask`]: each training example is a block at a fresh random
/// offset (seeded), as nanoGPT samples; validation reads every non-overlapping block.
pub struct LmTask<'a> {
    corpus: &'a TextCorpus,
    cfg: &'a ExperimentConfig,
    sampler: RefCell<BlockSampler>,
}

impl<'a> LmTask<'a> {
    /// A task over a prepared corpus.
    pub fn new(corpus: &'a TextCorpus, cfg: &'a ExperimentConfig) -> Self {
        Self { corpus, cfg, sampler: RefCell::new(BlockSampler::new(cfg.data.context, cfg.experiment.seed ^ 0xB10C)) }
    }
}

/// Mean validation loss (nats per token) over every non-overlapping block of `stream`.
pub fn stream_loss(model: &LanguageModel, stream: &[u32], context: usize, batch: usize, device: &Device) -> f64 {
    let offsets: Vec<usize> = (0..).map(|i| i * context).take_while(|o| o + context < stream.len()).collect();
    let sampler = BlockSampler::new(context, 0);
    let mut total = 0.0;
    for chunk in offsets.chunks(batch.max(1)) {
        let (x, y) = sampler.batch(stream, chunk, device);
        total += lm_loss(model.forward(x), y, None).into_scalar::<f32>() as f64 * chunk.len() as f64;
    }
    total / offsets.len().max(1) as f64
}

impl TrainTask for LmTask<'_> {
    type Model = LanguageModel;

    fn train_len(&self) -> usize {
        self.cfg.train.max_steps_per_epoch.unwrap_or(DEFAULT_STEPS_PER_EPOCH) * self.cfg.train.batch_size
    }

    fn batch_loss(&self, model: &LanguageModel, batch: &[usize], device: &Device) -> Tensor<1> {
        let mut sampler = self.sampler.borrow_mut();
        let offsets = match sampler.offsets(self.corpus.train.len(), batch.len()) {
            Ok(o) => o,
            Err(_) => unreachable!("TextCorpus guarantees more tokens than the context"),
        };
        let (x, y) = sampler.batch(&self.corpus.train, &offsets, device);
        lm_loss(model.forward(x), y, None)
    }

    fn valid_loss(&self, model: &LanguageModel, device: &Device) -> f64 {
        stream_loss(model, &self.corpus.valid, self.cfg.data.context, self.cfg.train.eval_batch_size, device)
    }
}

/// Train a language model and write its run folder (with `tokenizer.json`).
pub fn run_language_model(
    cfg: &ExperimentConfig,
    config_toml: &str,
    opts: &RunOptions,
) -> Result<RunReport, TrainError> {
    let device = select_device(cfg.train.backend);
    let corpus = TextCorpus::from_config(&cfg.data)?;
    let mut ctx = RunContext::create(cfg, config_toml, opts)?;
    corpus.tokenizer.save(&ctx.dir.join("tokenizer.json"))?;
    ctx.log(&format!(
        "seqlab: {} | {} | {} + {} characters -> {} train / {} valid tokens | vocabulary {} | context {}",
        cfg.experiment.name,
        corpus.path.display(),
        corpus.chars.0,
        corpus.chars.1,
        corpus.train.len(),
        corpus.valid.len(),
        corpus.tokenizer.vocab_size(),
        cfg.data.context
    ));
    let ad = device.clone().autodiff();
    device.seed(cfg.experiment.seed);
    ad.seed(cfg.experiment.seed);
    let model_cfg = LanguageModelConfig {
        model: cfg.model.clone(),
        vocab_size: corpus.tokenizer.vocab_size(),
        context: cfg.data.context,
    };
    let model = model_cfg.init(&ad).map_err(TrainError::Run)?;
    let n_params = model.num_params();
    ctx.log(&format!("model: {} language model ({n_params} parameters), backend: cpu (flex)", cfg.model.kind.name()));
    let task = LmTask::new(&corpus, cfg);
    let fitted = fit(&task, model, cfg, &device, &mut ctx, opts)?;

    let best = model_cfg
        .init(&device)
        .map_err(TrainError::Run)?
        .try_load_file(&fitted.best)
        .map_err(|e| TrainError::Run(format!("cannot load checkpoint {}: {e}", fitted.best.display())))?;
    let valid = LmMetrics::from_loss(task.valid_loss(&best, &device));
    let metrics = json!({
        "valid.loss": valid.loss,
        "valid.perplexity": valid.perplexity,
        "valid.bits_per_token": valid.bits_per_token,
        "valid.tokens": corpus.valid.len(),
        "train.best_epoch": fitted.best_epoch,
        "train.epochs_run": fitted.history.len().saturating_sub(1),
        "train.steps": fitted.history.len().saturating_sub(1) * task.train_len() / cfg.train.batch_size,
        "train.seconds": fitted.seconds,
        "train.initial_valid_loss": fitted.history.first().map(|r| r.valid_loss),
        "train.best_valid_loss": fitted.history.iter().skip(1).map(|r| r.valid_loss).fold(f64::INFINITY, f64::min),
        "model.parameters": n_params,
        "tokenizer.vocab_size": corpus.tokenizer.vocab_size(),
    });
    write_file(&ctx.dir.join("metrics.json"), &(serde_json::to_string_pretty(&metrics).unwrap_or_default() + "\n"))?;
    let train: Vec<(f64, f64)> = fitted.history.iter().skip(1).map(|r| (r.epoch as f64, r.train_loss)).collect();
    let valid_curve: Vec<(f64, f64)> = fitted.history.iter().map(|r| (r.epoch as f64, r.valid_loss)).collect();
    let svg = plot::line_chart(
        &format!("{}: cross-entropy per epoch (nats/token)", cfg.experiment.name),
        "epoch",
        "loss",
        &[
            plot::Series { label: "train", color: "#1f77b4", points: train, dashed: false },
            plot::Series { label: "valid", color: "#d62728", points: valid_curve, dashed: false },
        ],
    );
    write_file(&ctx.dir.join("loss.svg"), &svg)?;
    let summary = format!(
        "valid loss {:.4} nats/token, perplexity {:.3}, {:.4} bits/token ({} validation tokens)\n",
        valid.loss,
        valid.perplexity,
        valid.bits_per_token,
        corpus.valid.len()
    );
    ctx.log(&format!("best epoch {} | trained in {:.1}s", fitted.best_epoch, fitted.seconds));
    ctx.log_file_only(&summary);
    Ok(RunReport {
        run_dir: ctx.dir.clone(),
        best_epoch: fitted.best_epoch,
        epochs_run: fitted.history.len().saturating_sub(1),
        train_seconds: fitted.seconds,
        summary,
    })
}

/// Re-evaluate a saved language-model run (best checkpoint, the run's own `tokenizer.json`)
/// on its validation text.
pub fn eval_language_model(run_dir: &std::path::Path, cfg: &ExperimentConfig) -> Result<LmMetrics, TrainError> {
    let device = select_device(cfg.train.backend);
    let mut data = cfg.data.clone();
    data.tokenizer_file = Some(run_dir.join("tokenizer.json").display().to_string());
    let corpus = TextCorpus::from_config(&data)?;
    let model_cfg = LanguageModelConfig {
        model: cfg.model.clone(),
        vocab_size: corpus.tokenizer.vocab_size(),
        context: cfg.data.context,
    };
    let path = run_dir.join("checkpoints").join("best.bpk");
    if !path.is_file() {
        return Err(TrainError::Run(format!("checkpoint not found: {}", path.display())));
    }
    let model = model_cfg
        .init(&device)
        .map_err(TrainError::Run)?
        .try_load_file(&path)
        .map_err(|e| TrainError::Run(format!("cannot load checkpoint {}: {e}", path.display())))?;
    Ok(LmMetrics::from_loss(stream_loss(&model, &corpus.valid, cfg.data.context, cfg.train.eval_batch_size, &device)))
}
