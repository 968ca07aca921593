//! The experiment schema: what a user writes in TOML.
//!
//! Every section denies unknown keys, so a typo is an error that names the key and the file.
//! Each field has a default (see `Default` impls), so an experiment file holds only what differs.

use serde::{Deserialize, Serialize};

/// A whole experiment: the resolved result of every configuration layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentConfig {
    /// Presets (files in `configs/`, by name or path) layered below this file.
    pub include: Vec<String>,
    /// Name, seed and output location.
    pub experiment: ExperimentSection,
    /// Where the data comes from and how it is cut into windows.
    pub data: DataConfig,
    /// The model from the zoo.
    pub model: ModelConfig,
    /// The task head, its loss and its evaluation.
    pub task: TaskConfig,
    /// Optimiser, schedule, stopping and backend.
    pub train: TrainConfig,
}

/// `[experiment]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentSection {
    /// Name of the experiment; runs go to `<output_dir>/<name>/<run id>/`.
    pub name: String,
    /// Seed for weights, shuffling and dropout.
    pub seed: u64,
    /// Folder that holds the run folders.
    pub output_dir: String,
}

impl Default for ExperimentSection {
    fn default() -> Self {
        Self { name: "experiment".into(), seed: 42, output_dir: "runs".into() }
    }
}

/// The kind of data an experiment reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// Numeric columns indexed by time (CSV or Parquet).
    Timeseries,
    /// A text corpus (UTF-8), split by fraction of its characters.
    Text,
}

/// How text is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerChoice {
    /// One token per character.
    Char,
    /// Words and punctuation marks.
    Word,
    /// Byte-level BPE with `data.vocab_size` tokens.
    Bpe,
}

/// File format of a time-series table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// From the file extension.
    Auto,
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// What to do with missing values (empty cells, `NaN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// Stop with an error naming the file, column and line.
    Error,
    /// Carry the last observed value forward (a leading gap is an error).
    Ffill,
    /// Drop rows with any missing value.
    Drop,
}

/// Transform of the target columns before scaling; inverted for reported metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetTransform {
    /// Use levels as they are.
    None,
    /// First differences `y[t] - y[t-1]`.
    Diff,
    /// Log returns `ln(y[t] / y[t-1])` (values must be positive).
    LogReturn,
}

/// `[data.split]`: chronological split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// Fraction of rows for training (used when `train_rows` is not given).
    pub train: f64,
    /// Fraction of rows for validation; the rest is test.
    pub valid: f64,
    /// Explicit row range `[start, end)` for training (0-based data rows, before any transform).
    pub train_rows: Option<[usize; 2]>,
    /// Explicit row range for validation.
    pub valid_rows: Option<[usize; 2]>,
    /// Explicit row range for test.
    pub test_rows: Option<[usize; 2]>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self { train: 0.7, valid: 0.1, train_rows: None, valid_rows: None, test_rows: None }
    }
}

/// `[data]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Kind of data.
    pub kind: DataKind,
    /// Data root that relative `path`s are read from (`SEQLAB_DATA_ROOT` overrides the default).
    pub root: String,
    /// File to read, relative to `root` (or absolute).
    pub path: String,
    /// A folder holding the same relative paths, read when the file is not under `root`; the
    /// file is copied once into the cache (`SEQLAB_CACHE_DIR`, default `~/.cache/seqlab/data`).
    pub mirror: Option<String>,
    /// Expected SHA-256 of the file (hex); checked before reading when given.
    pub sha256: Option<String>,
    /// File format.
    pub format: FileFormat,
    /// Date/time column (kept as text for reports).
    pub time_column: Option<String>,
    /// Columns to forecast.
    pub targets: Vec<String>,
    /// Extra input columns (known only up to the forecast origin).
    pub covariates: Vec<String>,
    /// Missing-value policy.
    pub missing: MissingPolicy,
    /// Target transform.
    pub transform: TargetTransform,
    /// Z-score every column with statistics of the training rows.
    pub scale: bool,
    /// Chronological split.
    pub split: SplitConfig,
    /// Look-back window length L.
    pub lookback: usize,
    /// Forecast horizon H.
    pub horizon: usize,
    /// Step between training windows.
    pub stride: usize,
    /// Read only the first `max_rows` data rows (smoke tests).
    pub max_rows: Option<usize>,
    /// Text: how to tokenize (learned on the training split).
    pub tokenizer: TokenizerChoice,
    /// Text: a `tokenizer.json` to use instead of learning one (relative to `root`).
    pub tokenizer_file: Option<String>,
    /// Text: vocabulary size of word and BPE tokenizers.
    pub vocab_size: usize,
    /// Text: tokens of context per training block.
    pub context: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            kind: DataKind::Timeseries,
            root: "datasets".into(),
            path: String::new(),
            mirror: None,
            sha256: None,
            format: FileFormat::Auto,
            time_column: None,
            targets: Vec::new(),
            covariates: Vec::new(),
            missing: MissingPolicy::Error,
            transform: TargetTransform::None,
            scale: true,
            split: SplitConfig::default(),
            lookback: 96,
            horizon: 24,
            stride: 1,
            max_rows: None,
            tokenizer: TokenizerChoice::Char,
            tokenizer_file: None,
            vocab_size: 1000,
            context: 64,
        }
    }
}

/// Model kinds in the zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Elman RNN (tanh).
    Rnn,
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
    /// Transformer encoder (optionally over patches).
    Transformer,
    /// DLinear: moving-average trend / remainder split, one linear map each.
    Dlinear,
}

impl ModelKind {
    /// The name used in TOML.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Rnn => "rnn",
            ModelKind::Lstm => "lstm",
            ModelKind::Gru => "gru",
            ModelKind::Transformer => "transformer",
            ModelKind::Dlinear => "dlinear",
        }
    }
}

/// `[model]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Which model.
    pub kind: ModelKind,
    /// Hidden size of recurrent layers; model width of the Transformer.
    pub d_hidden: usize,
    /// Number of stacked layers.
    pub n_layers: usize,
    /// Dropout between layers (and inside Transformer blocks).
    pub dropout: f64,
    /// Recurrent layers read the sequence both ways.
    pub bidirectional: bool,
    /// Attention heads (Transformer).
    pub n_heads: usize,
    /// Feed-forward width (Transformer).
    pub d_ff: usize,
    /// Patch length for the Transformer (0: one token per time step).
    pub patch_len: usize,
    /// Step between patches.
    pub patch_stride: usize,
    /// Moving-average kernel of DLinear's trend (odd).
    pub moving_avg: usize,
    /// DLinear: one linear map per channel instead of a shared one.
    pub individual: bool,
    /// Reversible instance normalisation of each input window.
    pub revin: bool,
    /// Treat each channel as its own univariate series with shared weights.
    pub channel_independent: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            kind: ModelKind::Lstm,
            d_hidden: 64,
            n_layers: 2,
            dropout: 0.1,
            bidirectional: false,
            n_heads: 4,
            d_ff: 128,
            patch_len: 0,
            patch_stride: 8,
            moving_avg: 25,
            individual: false,
            revin: false,
            channel_independent: false,
        }
    }
}

/// Task kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Direct multi-horizon forecasting.
    Forecast,
    /// Next-token prediction on text.
    LanguageModel,
}

/// Training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Huber loss with `huber_delta`.
    Huber,
}

/// `[task]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskConfig {
    /// Which task.
    pub kind: TaskKind,
    /// Training loss.
    pub loss: LossKind,
    /// Threshold of the Huber loss.
    pub huber_delta: f64,
    /// Season length for the seasonal-naive baseline and MASE (1 = persistence).
    pub seasonal_period: usize,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self { kind: TaskKind::Forecast, loss: LossKind::Mse, huber_delta: 1.0, seasonal_period: 1 }
    }
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (L2 weight decay added to the gradient).
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Constant rate.
    Constant,
    /// Cosine decay from `lr` to `min_lr` over all steps.
    Cosine,
    /// Multiply by `gamma` every `step_epochs` epochs.
    Step,
}

/// Compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The pure-Rust CPU backend.
    Cpu,
    /// The best backend compiled in and present.
    Auto,
}

/// `[train]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Compute backend.
    pub backend: BackendKind,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine schedule.
    pub min_lr: f64,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// Schedule.
    pub schedule: ScheduleKind,
    /// Epochs between decays of the step schedule.
    pub step_epochs: usize,
    /// Decay factor of the step schedule.
    pub gamma: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Clip the gradient norm to this value.
    pub grad_clip: Option<f64>,
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Evaluation batch size.
    pub eval_batch_size: usize,
    /// Stop after this many epochs without a better validation loss (0: never).
    pub patience: usize,
    /// Cap on optimiser steps per epoch (smoke tests, quick looks).
    pub max_steps_per_epoch: Option<usize>,
    /// Stop starting new epochs after this many seconds.
    pub max_seconds: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            backend: BackendKind::Cpu,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            min_lr: 0.0,
            warmup_steps: 0,
            schedule: ScheduleKind::Constant,
            step_epochs: 1,
            gamma: 0.5,
            weight_decay: 0.0,
            grad_clip: None,
            epochs: 10,
            batch_size: 32,
            eval_batch_size: 256,
            patience: 3,
            max_steps_per_epoch: None,
            max_seconds: None,
        }
    }
}
