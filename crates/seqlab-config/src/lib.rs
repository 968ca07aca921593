//! Experiment configuration for seqlab.
//!
//! An experiment is resolved from layers, each overriding the one before:
//!
//! 1. the built-in defaults of [`ExperimentConfig`],
//! 2. `configs/defaults.toml`, when the config folder has one,
//! 3. the presets the experiment names in `include = [...]` (in order, recursively),
//! 4. the experiment file itself,
//! 5. `SEQLAB_` environment variables (`SEQLAB_TRAIN__EPOCHS=3` sets `train.epochs`;
//!    `SEQLAB_DATA_ROOT` sets `data.root`),
//! 6. command-line overrides (`--set train.epochs=3`).
//!
//! Unknown keys are errors, and every error names the key and where it came from.
#![warn(missing_docs)]

mod schema;

pub use schema::*;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use std::path::{Path, PathBuf};

/// Errors raised while resolving an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The experiment or an included preset does not exist.
    #[error("config file not found: {path}{hint}")]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
        /// Extra hint (where presets are searched).
        hint: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid TOML.
    #[error("{path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Parser message with line and column.
        message: String,
    },
    /// A `--set` override is malformed.
    #[error("bad override `{0}`: expected KEY=VALUE, e.g. train.epochs=3")]
    Override(String),
    /// Includes form a cycle.
    #[error("include cycle: {0}")]
    Cycle(String),
    /// The layers do not form a valid experiment (unknown key, wrong type, bad value).
    #[error("{0}")]
    Invalid(String),
}

/// Options for [`load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Folder of defaults and presets; found next to or above the experiment when `None`
    /// (or taken from `SEQLAB_CONFIG_DIR`).
    pub config_dir: Option<PathBuf>,
    /// `KEY=VALUE` overrides, applied last.
    pub overrides: Vec<String>,
    /// Read `SEQLAB_` environment variables.
    pub use_env: bool,
}

/// A resolved experiment with the layers that produced it.
#[derive(Debug)]
pub struct Resolved {
    /// The validated configuration.
    pub config: ExperimentConfig,
    /// The layered figment (for provenance).
    pub figment: Figment,
    /// The files that were read, lowest layer first.
    pub files: Vec<PathBuf>,
}

impl Resolved {
    /// Every leaf key of the resolved config with its value and the layer it came from.
    pub fn explain(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        if let Ok(value) = Value::serialize(&self.config) {
            flatten("", &value, &mut out);
        }
        out.into_iter()
            .map(|(key, value)| {
                let origin =
                    self.figment.find_metadata(&key).map(describe_metadata).unwrap_or_else(|| "default".to_string());
                (key, value, origin)
            })
            .collect()
    }

    /// The resolved config as TOML text.
    pub fn to_toml(&self) -> String {
        to_toml(&self.config)
    }
}

/// Serialise a config as TOML.
pub fn to_toml(config: &ExperimentConfig) -> String {
    toml::to_string_pretty(config).unwrap_or_else(|e| format!("# cannot serialise config: {e}\n"))
}

fn describe_metadata(meta: &Metadata) -> String {
    match &meta.source {
        Some(Source::File(path)) => format!("{}", path.display()),
        Some(Source::Custom(s)) => s.clone(),
        Some(Source::Code(_)) => "default".into(),
        _ => meta.name.to_string(),
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Dict(_, dict) => {
            for (k, v) in dict {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), render_value(other))),
    }
}

fn render_value(value: &Value) -> String {
    match value {
        Value::String(_, s) => format!("{s:?}"),
        Value::Char(_, c) => format!("{c:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => match (n.to_f64(), n.to_u128(), n.to_i128()) {
            (Some(f), _, _) => format!("{f:?}"),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(i)) => i.to_string(),
            _ => String::new(),
        },
        Value::Empty(_, _) => "(none)".into(),
        Value::Array(_, items) => {
            format!("[{}]", items.iter().map(render_value).collect::<Vec<_>>().join(", "))
        }
        Value::Dict(_, _) => "{...}".into(),
    }
}

/// A `--set key=value` layer, named as such in errors and in `config explain`.
struct Override {
    key: String,
    value: Value,
    text: String,
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named("command-line override").source(Source::Custom(format!("--set {}", self.text)))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict = figment::util::nest(&self.key, self.value.clone())
            .into_dict()
            .ok_or_else(|| figment::Error::from(format!("bad override key `{}`", self.key)))?;
        Ok(Profile::Default.collect(dict))
    }
}

fn parse_override(text: &str) -> Result<Override, ConfigError> {
    let (key, raw) = text.split_once('=').ok_or_else(|| ConfigError::Override(text.into()))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|part| part.is_empty()) {
        return Err(ConfigError::Override(text.into()));
    }
    let raw = raw.trim();
    // A value is TOML when it parses as TOML (numbers, booleans, arrays, quoted strings);
    // anything else is a bare string.
    let parsed: Option<toml::Value> =
        toml::from_str::<toml::Table>(&format!("v = {raw}")).ok().and_then(|mut t| t.remove("v"));
    let value = match parsed {
        Some(v) => Value::serialize(&v).map_err(|e| ConfigError::Invalid(e.to_string()))?,
        None => Value::from(raw.to_string()),
    };
    Ok(Override { key: key.to_string(), value, text: text.to_string() })
}

/// Find the folder of defaults and presets for an experiment file.
pub fn find_config_dir(experiment: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    if let Ok(dir) = std::env::var("SEQLAB_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let start = experiment.parent().map(Path::to_path_buf).unwrap_or_default();
    let start = if start.as_os_str().is_empty() { PathBuf::from(".") } else { start };
    let mut dir = std::fs::canonicalize(&start).ok();
    while let Some(d) = dir {
        let candidate = d.join("configs");
        if candidate.is_dir() {
            return Some(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::Missing { path: path.to_path_buf(), hint: String::new() }
        } else {
            ConfigError::Io { path: path.to_path_buf(), source }
        }
    })?;
    toml::from_str::<toml::Table>(&text)
        .map_err(|e| ConfigError::Syntax { path: path.to_path_buf(), message: e.to_string().trim().to_string() })
}

fn resolve_include(name: &str, from: &Path, config_dir: Option<&Path>) -> Result<PathBuf, ConfigError> {
    let file = if name.ends_with(".toml") { name.to_string() } else { format!("{name}.toml") };
    let mut tried = Vec::new();
    if let Some(dir) = config_dir {
        let p = dir.join(&file);
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p);
    }
    if let Some(parent) = from.parent() {
        let p = parent.join(&file);
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p);
    }
    Err(ConfigError::Missing {
        path: PathBuf::from(&file),
        hint: format!(
            " (included from {}; looked in {})",
            from.display(),
            tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ),
    })
}

fn collect_includes(
    path: &Path,
    config_dir: Option<&Path>,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> Result<(), ConfigError> {
    let table = read_table(path)?;
    let includes = match table.get("include") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    ConfigError::Invalid(format!("`include` must be a list of strings in {}", path.display()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(_) => {
            return Err(ConfigError::Invalid(format!("`include` must be a list of strings in {}", path.display())));
        }
    };
    for name in includes {
        let inc = resolve_include(&name, path, config_dir)?;
        let canon = std::fs::canonicalize(&inc).unwrap_or(inc.clone());
        if stack.contains(&canon) {
            return Err(ConfigError::Cycle(format!("{} includes {}", path.display(), inc.display())));
        }
        stack.push(canon);
        collect_includes(&inc, config_dir, stack, out)?;
        stack.pop();
        if !out.contains(&inc) {
            out.push(inc);
        }
    }
    Ok(())
}

/// The environment layer: `SEQLAB_SECTION__KEY=value`, plus `SEQLAB_DATA_ROOT`.
fn env_provider() -> Env {
    Env::prefixed("SEQLAB_").filter_map(|key| {
        let k = key.as_str().to_ascii_lowercase();
        match k.as_str() {
            "data_root" => Some("data.root".to_string().into()),
            "config_dir" => None,
            _ => Some(k.replace("__", ".").into()),
        }
    })
}

/// Resolve an experiment file through every layer and validate it.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Resolved, ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::Missing { path: path.to_path_buf(), hint: String::new() });
    }
    let config_dir = find_config_dir(path, options.config_dir.as_deref());
    let mut files = Vec::new();
    let mut figment = Figment::from(Serialized::defaults(ExperimentConfig::default()));
    if let Some(dir) = &config_dir {
        let defaults = dir.join("defaults.toml");
        if defaults.is_file() {
            read_table(&defaults)?;
            figment = figment.merge(Toml::file_exact(&defaults));
            files.push(defaults);
        }
    }
    let mut includes = Vec::new();
    let mut stack = vec![std::fs::canonicalize(path).unwrap_or(path.to_path_buf())];
    collect_includes(path, config_dir.as_deref(), &mut stack, &mut includes)?;
    for inc in includes {
        figment = figment.merge(Toml::file_exact(&inc));
        files.push(inc);
    }
    figment = figment.merge(Toml::file_exact(path));
    files.push(path.to_path_buf());
    if options.use_env {
        figment = figment.merge(env_provider());
    }
    for text in &options.overrides {
        figment = figment.merge(parse_override(text)?);
    }
    let config: ExperimentConfig = figment
        .extract()
        .map_err(|err| ConfigError::Invalid(err.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")))?;
    validate(&config)?;
    Ok(Resolved { config, figment, files })
}

/// Parse a TOML string as a complete experiment (no layering); used for saved run configs.
pub fn from_toml_str(text: &str, origin: &Path) -> Result<ExperimentConfig, ConfigError> {
    let config: ExperimentConfig = Figment::from(Serialized::defaults(ExperimentConfig::default()))
        .merge(Toml::string(text))
        .extract()
        .map_err(|err| {
            ConfigError::Invalid(format!(
                "{}: {}",
                origin.display(),
                err.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
            ))
        })?;
    validate(&config)?;
    Ok(config)
}

fn bad(key: &str, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid(format!("`{key}`: {message}"))
}

/// Check values that types alone cannot (ranges, consistency).
pub fn validate(c: &ExperimentConfig) -> Result<(), ConfigError> {
    let d = &c.data;
    if d.path.is_empty() {
        return Err(bad("data.path", "is required (the file to read, relative to data.root)"));
    }
    match (d.kind, c.task.kind) {
        (DataKind::Timeseries, TaskKind::Forecast) | (DataKind::Text, TaskKind::LanguageModel) => {}
        (data, task) => {
            return Err(bad("task.kind", format!("{task:?} does not work on data.kind = {data:?}").to_lowercase()));
        }
    }
    let s = &d.split;
    if d.kind == DataKind::Text {
        if d.context == 0 {
            return Err(bad("data.context", "must be at least 1"));
        }
        if !(s.train > 0.0 && s.valid > 0.0 && s.train + s.valid <= 1.0) {
            return Err(bad("data.split", "text needs train > 0, valid > 0 and train + valid <= 1"));
        }
    } else {
        if d.targets.is_empty() {
            return Err(bad("data.targets", "name at least one target column"));
        }
        if d.lookback == 0 {
            return Err(bad("data.lookback", "must be at least 1"));
        }
        if d.horizon == 0 {
            return Err(bad("data.horizon", "must be at least 1"));
        }
        if d.stride == 0 {
            return Err(bad("data.stride", "must be at least 1"));
        }
        let explicit = [s.train_rows, s.valid_rows, s.test_rows];
        let n_explicit = explicit.iter().filter(|r| r.is_some()).count();
        if n_explicit != 0 && n_explicit != 3 {
            return Err(bad("data.split", "give all of train_rows, valid_rows and test_rows, or none"));
        }
        for (name, r) in ["train_rows", "valid_rows", "test_rows"].iter().zip(explicit) {
            if let Some([a, b]) = r
                && a >= b
            {
                return Err(bad(&format!("data.split.{name}"), format!("empty range [{a}, {b})")));
            }
        }
        if n_explicit == 0 && !(s.train > 0.0 && s.valid >= 0.0 && s.train + s.valid < 1.0) {
            return Err(bad("data.split", "need train > 0, valid >= 0 and train + valid < 1"));
        }
    }
    let m = &c.model;
    if m.d_hidden == 0 {
        return Err(bad("model.d_hidden", "must be at least 1"));
    }
    if m.n_layers == 0 {
        return Err(bad("model.n_layers", "must be at least 1"));
    }
    if !(0.0..1.0).contains(&m.dropout) {
        return Err(bad("model.dropout", "must be in [0, 1)"));
    }
    if m.kind == ModelKind::Transformer && (m.n_heads == 0 || !m.d_hidden.is_multiple_of(m.n_heads)) {
        return Err(bad("model.n_heads", format!("must divide d_hidden = {}", m.d_hidden)));
    }
    if m.kind != ModelKind::Dlinear && m.patch_len > 0 && (m.patch_stride == 0 || m.patch_len > d.lookback) {
        return Err(bad("model.patch_len", "needs patch_stride >= 1 and patch_len <= data.lookback"));
    }
    if m.kind == ModelKind::Dlinear && (m.moving_avg == 0 || m.moving_avg.is_multiple_of(2)) {
        return Err(bad("model.moving_avg", "must be odd"));
    }
    if c.task.seasonal_period == 0 {
        return Err(bad("task.seasonal_period", "must be at least 1"));
    }
    let t = &c.train;
    if !(t.lr > 0.0 && t.lr.is_finite()) {
        return Err(bad("train.lr", "must be a positive number"));
    }
    if t.batch_size == 0 || t.eval_batch_size == 0 {
        return Err(bad("train.batch_size", "must be at least 1"));
    }
    if t.epochs == 0 {
        return Err(bad("train.epochs", "must be at least 1"));
    }
    if c.experiment.name.is_empty() || c.experiment.name.contains(['/', '\\']) {
        return Err(bad("experiment.name", "must be a non-empty name without slashes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
