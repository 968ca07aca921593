//! Time-series datasets: a table cut into chronological splits and sliding windows.
//!
//! Row `r` of the model's view is one time step. A window with *origin* `o` reads inputs from
//! rows `[o - L, o)` and predicts rows `[o, o + H)`; nothing at or after `o` reaches the inputs.
//! Training windows lie wholly inside the training split; validation and test windows may read
//! their inputs from before the split (as the standard long-horizon protocol does), but every
//! predicted row lies inside the split.

use crate::scaler::StandardScaler;
use crate::table::{NumericTable, read_numeric};
use crate::{DataError, source};
use burn::tensor::{Device, Tensor, TensorData};
use seqlab_config::{DataConfig, TargetTransform};
use std::path::PathBuf;

/// One of the three chronological splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training rows.
    Train,
    /// Validation rows (early stopping, model selection).
    Valid,
    /// Held-out test rows.
    Test,
}

impl Split {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }

    /// All splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];
}

/// A batch of forecasting windows.
#[derive(Debug, Clone)]
pub struct ForecastBatch {
    /// Inputs `[batch, lookback, channels_in]` on the model's (transformed, scaled) scale.
    pub inputs: Tensor<3>,
    /// Targets `[batch, horizon, targets]` on the same scale.
    pub targets: Tensor<3>,
    /// Origin (first predicted row) of each window.
    pub origins: Vec<usize>,
}

/// A time series prepared for windowed forecasting.
#[derive(Debug, Clone)]
pub struct SeriesDataset {
    /// Source file.
    pub path: PathBuf,
    /// Time stamp of each model row.
    pub timestamps: Vec<String>,
    /// Channel names: the targets first, then the covariates.
    pub channels: Vec<String>,
    /// How many leading channels are targets.
    pub n_targets: usize,
    /// Model-scale values, row-major `[rows, channels]`.
    pub values: Vec<f32>,
    /// Original-scale levels of the targets, row-major `[rows, n_targets]`.
    pub levels: Vec<f64>,
    /// The level of each target just before row 0 (needed to undo differencing at row 0).
    pub level_before_start: Vec<f64>,
    /// Target transform.
    pub transform: TargetTransform,
    /// Z-score scaler fitted on the training rows (identity when scaling is off).
    pub scaler: StandardScaler,
    /// Look-back L.
    pub lookback: usize,
    /// Horizon H.
    pub horizon: usize,
    /// Stride of training windows.
    pub stride: usize,
    /// Row ranges `[start, end)` of train, valid and test.
    pub ranges: [(usize, usize); 3],
    /// Source line of each model row.
    pub lines: Vec<usize>,
}

impl SeriesDataset {
    /// Load the file named by a `[data]` section and prepare it.
    pub fn from_config(cfg: &DataConfig) -> Result<Self, DataError> {
        let path = source::locate_with(
            &cfg.root,
            &cfg.path,
            cfg.sha256.as_deref(),
            cfg.mirror.as_deref(),
            &source::cache_dir(),
        )?;
        let mut columns = cfg.targets.clone();
        for c in &cfg.covariates {
            if columns.contains(c) {
                return Err(DataError::Config(format!("`data.covariates`: `{c}` is also a target")));
            }
            columns.push(c.clone());
        }
        let table = read_numeric(&path, cfg.format, cfg.time_column.as_deref(), &columns, cfg.missing, cfg.max_rows)?;
        Self::from_table(table, cfg.targets.len(), cfg)
    }

    /// Prepare an already-read table whose first `n_targets` columns are the targets.
    pub fn from_table(table: NumericTable, n_targets: usize, cfg: &DataConfig) -> Result<Self, DataError> {
        let path = table.path.clone();
        let c = table.columns.len();
        let n = table.rows();
        let offset = usize::from(cfg.transform != TargetTransform::None);
        if n <= offset {
            return Err(DataError::TooShort { path, message: format!("only {n} rows") });
        }
        let rows = n - offset;
        let mut model = Vec::with_capacity(rows * c);
        let mut levels = Vec::with_capacity(rows * n_targets);
        for r in offset..n {
            for ch in 0..c {
                let x = table.get(r, ch);
                let v = if ch < n_targets {
                    levels.push(x);
                    match cfg.transform {
                        TargetTransform::None => x,
                        TargetTransform::Diff => x - table.get(r - 1, ch),
                        TargetTransform::LogReturn => {
                            let prev = table.get(r - 1, ch);
                            if x <= 0.0 || prev <= 0.0 {
                                return Err(DataError::BadValue {
                                    path,
                                    line: table.lines[if x <= 0.0 { r } else { r - 1 }],
                                    column: table.columns[ch].clone(),
                                    message: "log returns need positive values".into(),
                                });
                            }
                            (x / prev).ln()
                        }
                    }
                } else {
                    x
                };
                model.push(v);
            }
        }
        let level_before_start = (0..n_targets).map(|ch| table.get(offset.saturating_sub(1), ch)).collect();

        let ranges = split_ranges(cfg, n, offset, &path)?;
        let scaler = if cfg.scale {
            StandardScaler::fit(&model, c, ranges[0].0, ranges[0].1)
        } else {
            StandardScaler::identity(c)
        };
        let values = scaler.transform_all(&model).into_iter().map(|x| x as f32).collect();
        let ds = Self {
            path,
            timestamps: table.timestamps[offset..].to_vec(),
            channels: table.columns.clone(),
            n_targets,
            values,
            levels,
            level_before_start,
            transform: cfg.transform,
            scaler,
            lookback: cfg.lookback,
            horizon: cfg.horizon,
            stride: cfg.stride,
            ranges,
            lines: table.lines[offset..].to_vec(),
        };
        for split in Split::ALL {
            if ds.origins(split).is_empty() {
                let (a, b) = ds.ranges[split as usize];
                return Err(DataError::TooShort {
                    path: ds.path.clone(),
                    message: format!(
                        "the {} split (rows [{a}, {b}) after transforms) has no complete window: \
                         it needs lookback + horizon = {} rows{} (series has {} rows)",
                        split.name(),
                        ds.lookback + ds.horizon,
                        if split == Split::Train { "" } else { " counting look-back before the split" },
                        ds.rows()
                    ),
                });
            }
        }
        Ok(ds)
    }

    /// Number of model rows.
    pub fn rows(&self) -> usize {
        self.timestamps.len()
    }

    /// Number of input channels.
    pub fn channels_in(&self) -> usize {
        self.channels.len()
    }

    /// Window origins of a split, in time order (training windows use `stride`).
    pub fn origins(&self, split: Split) -> Vec<usize> {
        let (a, b) = self.ranges[split as usize];
        let (l, h) = (self.lookback, self.horizon);
        let (first, step) = match split {
            Split::Train => (a + l, self.stride),
            _ => (a.max(l), 1),
        };
        if b < h || first > b - h {
            return Vec::new();
        }
        (first..=b - h).step_by(step).collect()
    }

    /// Build a batch of windows on `device`.
    pub fn batch(&self, origins: &[usize], device: &Device) -> ForecastBatch {
        let (l, h, c, t) = (self.lookback, self.horizon, self.channels.len(), self.n_targets);
        let mut x = Vec::with_capacity(origins.len() * l * c);
        let mut y = Vec::with_capacity(origins.len() * h * t);
        for &o in origins {
            x.extend_from_slice(&self.values[(o - l) * c..o * c]);
            for r in o..o + h {
                y.extend_from_slice(&self.values[r * c..r * c + t]);
            }
        }
        let b = origins.len();
        ForecastBatch {
            inputs: Tensor::from_data(TensorData::new(x, [b, l, c]), device),
            targets: Tensor::from_data(TensorData::new(y, [b, h, t]), device),
            origins: origins.to_vec(),
        }
    }

    /// Original-scale level of target `ch` at row `r`.
    pub fn level(&self, r: usize, ch: usize) -> f64 {
        self.levels[r * self.n_targets + ch]
    }

    /// The last observed level of target `ch` before a window's origin.
    pub fn last_level(&self, origin: usize, ch: usize) -> f64 {
        if origin == 0 { self.level_before_start[ch] } else { self.level(origin - 1, ch) }
    }

    /// Undo scaling and the target transform for one window's forecast.
    ///
    /// `model` is `[horizon, n_targets]` on the model scale; the result is on the original scale.
    pub fn to_levels(&self, origin: usize, model: &[f32]) -> Vec<f64> {
        let t = self.n_targets;
        let mut out = vec![0.0; self.horizon * t];
        for ch in 0..t {
            let mut level = self.last_level(origin, ch);
            for k in 0..self.horizon {
                let v = self.scaler.inverse(ch, model[k * t + ch] as f64);
                level = match self.transform {
                    TargetTransform::None => v,
                    TargetTransform::Diff => level + v,
                    TargetTransform::LogReturn => level * v.exp(),
                };
                out[k * t + ch] = level;
            }
        }
        out
    }

    /// The inverse of [`to_levels`](Self::to_levels): original-scale levels to the model scale.
    pub fn from_levels(&self, origin: usize, levels: &[f64]) -> Vec<f32> {
        let t = self.n_targets;
        let mut out = vec![0.0f32; self.horizon * t];
        for ch in 0..t {
            let mut prev = self.last_level(origin, ch);
            for k in 0..self.horizon {
                let x = levels[k * t + ch];
                let v = match self.transform {
                    TargetTransform::None => x,
                    TargetTransform::Diff => x - prev,
                    TargetTransform::LogReturn => (x / prev).ln(),
                };
                prev = x;
                out[k * t + ch] = self.scaler.transform(ch, v) as f32;
            }
        }
        out
    }

    /// Actual original-scale levels `[horizon, n_targets]` of a window.
    pub fn actual_levels(&self, origin: usize) -> Vec<f64> {
        let t = self.n_targets;
        self.levels[origin * t..(origin + self.horizon) * t].to_vec()
    }

    /// Actual model-scale targets `[horizon, n_targets]` of a window.
    pub fn actual_model(&self, origin: usize) -> Vec<f32> {
        let (c, t) = (self.channels.len(), self.n_targets);
        (origin..origin + self.horizon).flat_map(|r| self.values[r * c..r * c + t].iter().copied()).collect()
    }

    /// Target names.
    pub fn targets(&self) -> &[String] {
        &self.channels[..self.n_targets]
    }
}

/// Split ranges in model rows. Explicit ranges index data rows of the file (before transforms).
fn split_ranges(
    cfg: &DataConfig,
    n: usize,
    offset: usize,
    path: &std::path::Path,
) -> Result<[(usize, usize); 3], DataError> {
    let s = &cfg.split;
    let rows = n - offset;
    match (s.train_rows, s.valid_rows, s.test_rows) {
        (Some(tr), Some(va), Some(te)) => {
            let mut out = [(0, 0); 3];
            for (i, (name, [a, b])) in
                [("train_rows", tr), ("valid_rows", va), ("test_rows", te)].into_iter().enumerate()
            {
                if b > n {
                    return Err(DataError::TooShort {
                        path: path.to_path_buf(),
                        message: format!("`data.split.{name}` = [{a}, {b}) but the file has {n} data rows"),
                    });
                }
                out[i] = (a.max(offset) - offset, b - offset);
            }
            if out[0].1 > out[1].0 || out[1].1 > out[2].0 {
                return Err(DataError::Config(
                    "`data.split`: train, valid and test must be in time order without overlap".into(),
                ));
            }
            Ok(out)
        }
        _ => {
            let n_train = (rows as f64 * s.train).floor() as usize;
            let n_valid = (rows as f64 * s.valid).floor() as usize;
            Ok([(0, n_train), (n_train, n_train + n_valid), (n_train + n_valid, rows)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqlab_config::SplitConfig;

    fn table(values: Vec<f64>, cols: usize) -> NumericTable {
        let rows = values.len() / cols;
        let columns = (0..cols).map(|i| format!("c{i}")).collect();
        NumericTable::from_rows("mem.csv", columns, (0..rows).map(|i| format!("t{i}")).collect(), values)
    }

    fn cfg(l: usize, h: usize, transform: TargetTransform) -> DataConfig {
        DataConfig {
            path: "mem.csv".into(),
            targets: vec!["c0".into()],
            lookback: l,
            horizon: h,
            transform,
            split: SplitConfig {
                train_rows: Some([0, 40]),
                valid_rows: Some([40, 60]),
                test_rows: Some([60, 100]),
                ..SplitConfig::default()
            },
            ..DataConfig::default()
        }
    }

    #[test]
    fn window_counts_and_boundaries_follow_the_protocol() {
        let ds = SeriesDataset::from_table(
            table((0..100).map(|i| i as f64).collect(), 1),
            1,
            &cfg(8, 4, TargetTransform::None),
        )
        .expect("dataset");
        let train = ds.origins(Split::Train);
        // Train inputs inside [0, 40): origins 8..=36.
        assert_eq!((train[0], *train.last().expect("some")), (8, 36));
        assert_eq!(train.len(), 29);
        // Valid/test targets start at the split boundary; inputs reach back L rows.
        let valid = ds.origins(Split::Valid);
        assert_eq!((valid[0], *valid.last().expect("some"), valid.len()), (40, 56, 20 - 4 + 1));
        let test = ds.origins(Split::Test);
        assert_eq!((test[0], test.len()), (60, 40 - 4 + 1));
        // The batch holds the right rows (scaled with train statistics).
        let b = ds.batch(&[60], &Device::flex());
        assert_eq!(b.inputs.dims(), [1, 8, 1]);
        assert_eq!(b.targets.dims(), [1, 4, 1]);
        let x = b.inputs.into_data().try_to_vec::<f32>().expect("f32");
        let y = b.targets.into_data().try_to_vec::<f32>().expect("f32");
        let unscale = |z: f32| ds.scaler.inverse(0, z as f64).round();
        assert_eq!(x.iter().map(|&z| unscale(z)).collect::<Vec<_>>(), (52..60).map(f64::from).collect::<Vec<_>>());
        assert_eq!(y.iter().map(|&z| unscale(z)).collect::<Vec<_>>(), (60..64).map(f64::from).collect::<Vec<_>>());
        // Scaler saw only train rows 0..40: mean 19.5.
        assert!((ds.scaler.mean[0] - 19.5).abs() < 1e-9);
    }

    #[test]
    fn covariates_are_inputs_but_not_targets() {
        // c0 is the target, c1 a covariate; only c0 is transformed and predicted.
        let values: Vec<f64> = (0..100).flat_map(|i| [10.0 + i as f64, 1000.0 - i as f64]).collect();
        let mut c = cfg(8, 4, TargetTransform::Diff);
        c.covariates = vec!["c1".into()];
        let table = NumericTable::from_rows(
            "mem.csv",
            vec!["c0".into(), "c1".into()],
            (0..100).map(|i| i.to_string()).collect(),
            values,
        );
        let ds = SeriesDataset::from_table(table, 1, &c).expect("dataset");
        let b = ds.batch(&[60, 61], &Device::flex());
        assert_eq!(b.inputs.dims(), [2, 8, 2]);
        assert_eq!(b.targets.dims(), [2, 4, 1]);
        // Differenced target is constant 1; the covariate keeps its level (scaled).
        assert!((ds.scaler.mean[0] - 1.0).abs() < 1e-12);
        assert!(ds.scaler.mean[1] > 900.0);
    }

    #[test]
    fn stride_thins_training_windows_only() {
        let mut c = cfg(8, 4, TargetTransform::None);
        c.stride = 5;
        let ds = SeriesDataset::from_table(table((0..100).map(|i| i as f64).collect(), 1), 1, &c).expect("dataset");
        assert_eq!(ds.origins(Split::Train), vec![8, 13, 18, 23, 28, 33]);
        assert_eq!(ds.origins(Split::Test).len(), 37);
    }

    #[test]
    fn transforms_invert_exactly() {
        let prices: Vec<f64> = (0..100).map(|i| 50.0 + (i as f64 * 0.7).sin() * 5.0 + i as f64 * 0.1).collect();
        for tr in [TargetTransform::None, TargetTransform::Diff, TargetTransform::LogReturn] {
            let ds = SeriesDataset::from_table(table(prices.clone(), 1), 1, &cfg(8, 4, tr)).expect("dataset");
            for &o in &ds.origins(Split::Test) {
                let model = ds.actual_model(o);
                let levels = ds.to_levels(o, &model);
                let actual = ds.actual_levels(o);
                for (a, b) in levels.iter().zip(&actual) {
                    assert!((a - b).abs() < 1e-3, "{tr:?}: {a} vs {b}");
                }
                let back = ds.from_levels(o, &actual);
                for (a, b) in back.iter().zip(&model) {
                    assert!((a - b).abs() < 1e-4, "{tr:?}");
                }
            }
        }
    }

    #[test]
    fn too_short_series_is_a_clear_error() {
        let err = SeriesDataset::from_table(
            table((0..100).map(|i| i as f64).collect(), 1),
            1,
            &cfg(30, 15, TargetTransform::None),
        )
        .expect_err("too short")
        .to_string();
        assert!(err.contains("mem.csv") && err.contains("lookback + horizon = 45"), "{err}");
    }

    #[test]
    fn log_return_of_non_positive_value_names_the_line() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        v[50] = 0.0;
        let err = SeriesDataset::from_table(table(v, 1), 1, &cfg(8, 4, TargetTransform::LogReturn))
            .expect_err("bad value")
            .to_string();
        assert!(err.contains("line 52") && err.contains("positive"), "{err}");
    }
}
