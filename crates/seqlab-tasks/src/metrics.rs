//! Forecast metrics. Original-scale metrics (MAE, RMSE, MAPE, sMAPE, MASE) are computed on
//! the series' own units after every transform is undone; MSE and MAE on the normalised scale
//! are the numbers long-horizon papers report.

use serde::Serialize;

/// Metrics of one forecaster on one split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForecastMetrics {
    /// MSE on the normalised (model) scale.
    pub mse: f64,
    /// MAE on the normalised (model) scale.
    pub mae: f64,
    /// MAE on the original scale.
    pub mae_orig: f64,
    /// RMSE on the original scale.
    pub rmse: f64,
    /// Mean absolute percentage error (%), over non-zero actuals.
    pub mape: f64,
    /// Symmetric MAPE (%), `200 |e| / (|y| + |ŷ|)`.
    pub smape: f64,
    /// Mean absolute scaled error: MAE over the in-sample seasonal-naive MAE of the training rows.
    pub mase: f64,
}

impl ForecastMetrics {
    /// `(name, value)` pairs in a stable order.
    pub fn entries(&self) -> [(&'static str, f64); 7] {
        [
            ("mse", self.mse),
            ("mae", self.mae),
            ("rmse", self.rmse),
            ("mape", self.mape),
            ("smape", self.smape),
            ("mase", self.mase),
            ("mae_orig", self.mae_orig),
        ]
    }
}

/// Accumulates errors over windows, horizon steps and target channels.
#[derive(Debug, Clone)]
pub struct MetricAccumulator {
    n: usize,
    sq_norm: f64,
    abs_norm: f64,
    abs: Vec<f64>,
    count: Vec<usize>,
    sq: f64,
    ape: f64,
    n_ape: usize,
    sape: f64,
    n_sape: usize,
    mase_scale: Vec<f64>,
}

impl MetricAccumulator {
    /// A new accumulator; `mase_scale[c]` is the in-sample naive MAE of target `c`.
    pub fn new(mase_scale: Vec<f64>) -> Self {
        let t = mase_scale.len();
        Self {
            n: 0,
            sq_norm: 0.0,
            abs_norm: 0.0,
            abs: vec![0.0; t],
            count: vec![0; t],
            sq: 0.0,
            ape: 0.0,
            n_ape: 0,
            sape: 0.0,
            n_sape: 0,
            mase_scale,
        }
    }

    /// Add one window: row-major `[horizon, targets]` forecasts and actuals on both scales.
    pub fn add(&mut self, pred_norm: &[f32], true_norm: &[f32], pred: &[f64], actual: &[f64]) {
        let t = self.mase_scale.len();
        for (p, y) in pred_norm.iter().zip(true_norm) {
            let e = (*p - *y) as f64;
            self.sq_norm += e * e;
            self.abs_norm += e.abs();
        }
        for (i, (p, y)) in pred.iter().zip(actual).enumerate() {
            let e = p - y;
            self.abs[i % t] += e.abs();
            self.count[i % t] += 1;
            self.sq += e * e;
            if y.abs() > 1e-12 {
                self.ape += (e / y).abs();
                self.n_ape += 1;
            }
            let denom = p.abs() + y.abs();
            if denom > 1e-12 {
                self.sape += 2.0 * e.abs() / denom;
                self.n_sape += 1;
            }
        }
        self.n += pred.len();
    }

    /// The metrics so far.
    pub fn finish(&self) -> ForecastMetrics {
        let n = self.n.max(1) as f64;
        let mase_terms: Vec<f64> = (0..self.abs.len())
            .map(|c| (self.abs[c] / self.count[c].max(1) as f64) / self.mase_scale[c].max(1e-12))
            .collect();
        ForecastMetrics {
            mse: self.sq_norm / n,
            mae: self.abs_norm / n,
            mae_orig: self.abs.iter().sum::<f64>() / n,
            rmse: (self.sq / n).sqrt(),
            mape: 100.0 * self.ape / self.n_ape.max(1) as f64,
            smape: 100.0 * self.sape / self.n_sape.max(1) as f64,
            mase: mase_terms.iter().sum::<f64>() / mase_terms.len().max(1) as f64,
        }
    }
}

/// In-sample seasonal-naive MAE of each column of a row-major `[rows, cols]` matrix over rows
/// `[start, end)`: the denominator of MASE.
pub fn naive_scale(levels: &[f64], cols: usize, start: usize, end: usize, period: usize) -> Vec<f64> {
    (0..cols)
        .map(|c| {
            let mut sum = 0.0;
            let mut n = 0usize;
            for r in (start + period)..end {
                sum += (levels[r * cols + c] - levels[(r - period) * cols + c]).abs();
                n += 1;
            }
            if n == 0 { 1.0 } else { sum / n as f64 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_by_hand() {
        // One target; actuals 2, 4, 5 (scale of naive errors: |4-2|=2, |5-4|=1 -> 1.5).
        let scale = naive_scale(&[2.0, 4.0, 5.0], 1, 0, 3, 1);
        assert_eq!(scale, vec![1.5]);
        let mut acc = MetricAccumulator::new(scale);
        // Forecast 3, 4, 3 for actuals 2, 4, 5: errors 1, 0, -2.
        acc.add(&[0.5, 0.0, -1.0], &[0.0, 0.0, 0.0], &[3.0, 4.0, 3.0], &[2.0, 4.0, 5.0]);
        let m = acc.finish();
        assert!((m.mae_orig - 1.0).abs() < 1e-12, "(1 + 0 + 2) / 3");
        assert!((m.rmse - (5.0f64 / 3.0).sqrt()).abs() < 1e-12, "sqrt((1 + 0 + 4) / 3)");
        assert!((m.mape - 100.0 * (0.5 + 0.0 + 0.4) / 3.0).abs() < 1e-9, "|1/2|, 0, |2/5|");
        let smape = 100.0 * (2.0 * 1.0 / 5.0 + 0.0 + 2.0 * 2.0 / 8.0) / 3.0;
        assert!((m.smape - smape).abs() < 1e-9);
        assert!((m.mase - 1.0 / 1.5).abs() < 1e-12);
        assert!((m.mse - (0.25 + 0.0 + 1.0) / 3.0).abs() < 1e-7);
        assert!((m.mae - 1.5 / 3.0).abs() < 1e-7);
    }
}
