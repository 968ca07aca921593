//! Direct multi-horizon forecasting: the model, and its evaluation against baselines.

use crate::metrics::{ForecastMetrics, MetricAccumulator, naive_scale};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use seqlab_config::{ModelConfig, ModelKind};
use seqlab_data::timeseries::{SeriesDataset, Split};
use seqlab_models::{DLinear, DLinearConfig, Encoder, EncoderConfig, EncoderInput, RevIn, SequenceEncoder};

/// Runtime configuration of a [`Forecaster`].
#[derive(Debug, Clone)]
pub struct ForecasterConfig {
    /// The user's model section.
    pub model: ModelConfig,
    /// Look-back L.
    pub lookback: usize,
    /// Horizon H.
    pub horizon: usize,
    /// Input channels (targets first, then covariates).
    pub channels_in: usize,
    /// Target channels (the leading ones).
    pub n_targets: usize,
}

impl ForecasterConfig {
    /// From a model section and a dataset's shape.
    pub fn new(model: &ModelConfig, ds: &SeriesDataset) -> Self {
        Self {
            model: model.clone(),
            lookback: ds.lookback,
            horizon: ds.horizon,
            channels_in: ds.channels_in(),
            n_targets: ds.n_targets,
        }
    }

    /// Build the model.
    pub fn init(&self, device: &Device) -> Forecaster {
        let ci = self.model.channel_independent;
        let (c_in, c_out) = if ci { (1, 1) } else { (self.channels_in, self.n_targets) };
        let backbone = match self.model.kind {
            ModelKind::Dlinear => Backbone::Linear(
                DLinearConfig {
                    lookback: self.lookback,
                    horizon: self.horizon,
                    channels: c_in,
                    kernel: self.model.moving_avg,
                    individual: self.model.individual && !ci,
                }
                .init(device),
            ),
            _ => {
                let enc_cfg = match EncoderConfig::from_model(&self.model, c_in, self.lookback) {
                    Some(c) => c,
                    None => unreachable!("every kind but dlinear is an encoder"),
                };
                let encoder = enc_cfg.init(device);
                // Transformers read all tokens (a flatten head, as PatchTST); recurrent encoders
                // read their last state.
                let flatten = self.model.kind == ModelKind::Transformer;
                let d_rep =
                    if flatten { encoder.n_steps(self.lookback) * encoder.d_output() } else { encoder.d_output() };
                Backbone::Encoder(EncoderHead {
                    head: LinearConfig::new(d_rep, self.horizon * c_out).init(device),
                    encoder,
                    flatten,
                    horizon: self.horizon,
                    c_out,
                })
            }
        };
        Forecaster {
            revin: self.model.revin.then(|| RevIn::new(self.channels_in, device)),
            backbone,
            channel_independent: ci,
            n_targets: self.n_targets,
            horizon: self.horizon,
        }
    }
}

/// A sequence encoder with a linear multi-horizon head.
#[derive(Module, Debug)]
pub struct EncoderHead {
    /// Any encoder of the zoo.
    pub encoder: Encoder,
    /// `d_rep -> horizon * c_out`.
    pub head: Linear,
    /// Read every step (flattened) instead of the summary.
    pub flatten: bool,
    /// Horizon.
    pub horizon: usize,
    /// Output channels.
    pub c_out: usize,
}

impl EncoderHead {
    /// `[batch, lookback, c_in] -> [batch, horizon, c_out]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let b = x.dims()[0];
        let out = self.encoder.encode(EncoderInput::new(x));
        let rep = if self.flatten {
            let [_, n, d] = out.hidden.dims();
            out.hidden.reshape([b, n * d])
        } else {
            out.summary
        };
        self.head.forward(rep).reshape([b, self.horizon, self.c_out])
    }
}

/// The part of a forecaster that maps windows to forecasts.
// One backbone per model: boxing a variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    /// Encoder + head.
    Encoder(EncoderHead),
    /// DLinear.
    Linear(DLinear),
}

/// A direct multi-horizon forecaster: optional RevIN, a backbone, optional channel independence.
#[derive(Module, Debug)]
pub struct Forecaster {
    /// Per-window normalisation.
    pub revin: Option<RevIn>,
    /// The backbone.
    pub backbone: Backbone,
    /// Each channel is a separate univariate series with shared weights.
    pub channel_independent: bool,
    /// Leading target channels.
    pub n_targets: usize,
    /// Horizon.
    pub horizon: usize,
}

impl Forecaster {
    /// `[batch, lookback, channels_in] -> [batch, horizon, n_targets]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, l, c] = x.dims();
        let (x, stats) = match &self.revin {
            Some(r) => {
                let (x, s) = r.normalize(x);
                (x, Some(s))
            }
            None => (x, None),
        };
        let run = |x: Tensor<3>| match &self.backbone {
            Backbone::Encoder(m) => m.forward(x),
            Backbone::Linear(m) => m.forward(x),
        };
        let y = if self.channel_independent {
            let xs = x.swap_dims(1, 2).reshape([b * c, l, 1]);
            run(xs).reshape([b, c, self.horizon]).swap_dims(1, 2)
        } else {
            run(x)
        };
        let y = if y.dims()[2] > self.n_targets { y.slice(burn::tensor::s![.., .., 0..self.n_targets]) } else { y };
        match (&self.revin, stats) {
            (Some(r), Some(s)) => r.denormalize(y, &s),
            _ => y,
        }
    }
}

/// One window's forecast on the original scale.
#[derive(Debug, Clone)]
pub struct WindowForecast {
    /// First predicted row.
    pub origin: usize,
    /// Forecast `[horizon, targets]`.
    pub forecast: Vec<f64>,
    /// Actual `[horizon, targets]`.
    pub actual: Vec<f64>,
}

/// Metrics of the model and the baselines on one split, with every window's forecast.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The split.
    pub split: Split,
    /// The model's metrics.
    pub model: ForecastMetrics,
    /// `(name, metrics)` of each baseline, computed on the same windows.
    pub baselines: Vec<(String, ForecastMetrics)>,
    /// Each window's forecast.
    pub windows: Vec<WindowForecast>,
}

/// Seasonal-naive forecast from the levels before `origin` (`period = 1` is persistence).
fn seasonal_naive(ds: &SeriesDataset, origin: usize, period: usize) -> Vec<f64> {
    let t = ds.n_targets;
    let mut out = vec![0.0; ds.horizon * t];
    for k in 0..ds.horizon {
        // The same phase one (or more) seasons back, always before the origin.
        let back = period - (k % period);
        for c in 0..t {
            out[k * t + c] = if origin >= back { ds.level(origin - back, c) } else { ds.last_level(origin, c) };
        }
    }
    out
}

/// Evaluate a (validation-mode) model and the baselines on every window of a split.
pub fn evaluate(
    model: &Forecaster,
    ds: &SeriesDataset,
    split: Split,
    seasonal_period: usize,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    let (a, b) = ds.ranges[Split::Train as usize];
    let scale = naive_scale(&ds.levels, ds.n_targets, a, b, seasonal_period);
    let mut acc = MetricAccumulator::new(scale.clone());
    let mut persist = MetricAccumulator::new(scale.clone());
    let mut seasonal = MetricAccumulator::new(scale);
    let origins = ds.origins(split);
    let per = ds.horizon * ds.n_targets;
    let mut windows = Vec::with_capacity(origins.len());
    for chunk in origins.chunks(batch_size.max(1)) {
        let batch = ds.batch(chunk, device);
        let pred = model.forward(batch.inputs).into_data().try_to_vec::<f32>().unwrap_or_default();
        for (i, &o) in chunk.iter().enumerate() {
            let p = &pred[i * per..(i + 1) * per];
            let y = ds.actual_model(o);
            let forecast = ds.to_levels(o, p);
            let actual = ds.actual_levels(o);
            acc.add(p, &y, &forecast, &actual);
            let naive = seasonal_naive(ds, o, 1);
            persist.add(&ds.from_levels(o, &naive), &y, &naive, &actual);
            let snaive = seasonal_naive(ds, o, seasonal_period);
            seasonal.add(&ds.from_levels(o, &snaive), &y, &snaive, &actual);
            windows.push(WindowForecast { origin: o, forecast, actual });
        }
    }
    Evaluation {
        split,
        model: acc.finish(),
        baselines: vec![("persistence".into(), persist.finish()), ("seasonal_naive".into(), seasonal.finish())],
        windows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqlab_config::{DataConfig, SplitConfig};
    use seqlab_data::table::NumericTable;

    fn table(values: Vec<f64>, cols: usize) -> NumericTable {
        let rows = values.len() / cols;
        let columns = (0..cols).map(|i| format!("c{i}")).collect();
        NumericTable::from_rows("mem.csv", columns, (0..rows).map(|i| format!("t{i}")).collect(), values)
    }

    fn data_cfg(transform: seqlab_config::TargetTransform) -> DataConfig {
        DataConfig {
            path: "mem.csv".into(),
            targets: vec!["c0".into(), "c1".into()],
            lookback: 12,
            horizon: 4,
            transform,
            split: SplitConfig {
                train_rows: Some([0, 60]),
                valid_rows: Some([60, 80]),
                test_rows: Some([80, 120]),
                ..SplitConfig::default()
            },
            ..DataConfig::default()
        }
    }

    fn series() -> Vec<f64> {
        (0..120)
            .flat_map(|i| [10.0 + (i as f64 * 0.3).sin() + 0.01 * i as f64, 5.0 + (i as f64 * 0.11).cos()])
            .collect()
    }

    /// No look-ahead: changing values at or after a window's origin leaves its forecast unchanged,
    /// for every model kind, with RevIN, with and without channel independence and transforms.
    #[test]
    fn forecasts_do_not_look_ahead() {
        let device = Device::flex();
        for kind in [ModelKind::Rnn, ModelKind::Lstm, ModelKind::Gru, ModelKind::Transformer, ModelKind::Dlinear] {
            for (revin, ci, tr) in [
                (false, false, seqlab_config::TargetTransform::None),
                (true, true, seqlab_config::TargetTransform::Diff),
                (true, false, seqlab_config::TargetTransform::LogReturn),
            ] {
                let cfg = data_cfg(tr);
                let ds = SeriesDataset::from_table(table(series(), 2), 2, &cfg).expect("dataset");
                let model_cfg = ModelConfig {
                    kind,
                    d_hidden: 8,
                    n_layers: 2,
                    n_heads: 2,
                    d_ff: 16,
                    patch_len: 4,
                    patch_stride: 2,
                    moving_avg: 5,
                    dropout: 0.0,
                    revin,
                    channel_independent: ci,
                    ..ModelConfig::default()
                };
                device.seed(1);
                let model = ForecasterConfig::new(&model_cfg, &ds).init(&device);
                let origin = 90;
                let before =
                    model.forward(ds.batch(&[origin], &device).inputs).into_data().try_to_vec::<f32>().expect("f32");
                // Perturb every value from the origin on (in file rows: origin + transform offset).
                let offset = usize::from(tr != seqlab_config::TargetTransform::None);
                let mut v = series();
                for r in (origin + offset)..120 {
                    v[r * 2] *= 3.0;
                    v[r * 2 + 1] += 100.0;
                }
                let ds2 = SeriesDataset::from_table(table(v, 2), 2, &cfg).expect("dataset");
                let after =
                    model.forward(ds2.batch(&[origin], &device).inputs).into_data().try_to_vec::<f32>().expect("f32");
                assert_eq!(before, after, "{kind:?} revin={revin} ci={ci} {tr:?}");
                // And the targets did change, so the test has teeth.
                assert_ne!(ds.actual_model(origin), ds2.actual_model(origin));
            }
        }
    }

    #[test]
    fn baselines_repeat_past_values() {
        let cfg = data_cfg(seqlab_config::TargetTransform::None);
        let ds = SeriesDataset::from_table(table(series(), 2), 2, &cfg).expect("dataset");
        let p = seasonal_naive(&ds, 90, 1);
        assert!(p.chunks(2).all(|row| row[0] == ds.level(89, 0) && row[1] == ds.level(89, 1)));
        let s = seasonal_naive(&ds, 90, 3);
        // k = 0, 1, 2 -> rows 87, 88, 89; k = 3 -> row 87 again.
        assert_eq!([s[0], s[2], s[4], s[6]], [ds.level(87, 0), ds.level(88, 0), ds.level(89, 0), ds.level(87, 0)]);
    }
}
