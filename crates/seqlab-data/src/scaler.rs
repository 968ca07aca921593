//! Per-column z-score scaling, fitted on training rows only.

use serde_json::json;

/// Z-score scaler: `(x - mean) / std` per column.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (population, as scikit-learn; 1 for constant columns).
    pub std: Vec<f64>,
}

impl StandardScaler {
    /// The identity scaler for `n` columns.
    pub fn identity(n: usize) -> Self {
        Self { mean: vec![0.0; n], std: vec![1.0; n] }
    }

    /// Fit on rows `[start, end)` of a row-major `[rows, cols]` matrix.
    pub fn fit(values: &[f64], cols: usize, start: usize, end: usize) -> Self {
        let n = (end - start).max(1) as f64;
        let mut mean = vec![0.0; cols];
        for r in start..end {
            for c in 0..cols {
                mean[c] += values[r * cols + c];
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; cols];
        for r in start..end {
            for c in 0..cols {
                let d = values[r * cols + c] - mean[c];
                var[c] += d * d;
            }
        }
        let std = var.iter().map(|v| (v / n).sqrt()).map(|s| if s > 1e-12 { s } else { 1.0 }).collect();
        Self { mean, std }
    }

    /// Scale one value of column `c`.
    pub fn transform(&self, c: usize, x: f64) -> f64 {
        (x - self.mean[c]) / self.std[c]
    }

    /// Undo [`transform`](Self::transform).
    pub fn inverse(&self, c: usize, z: f64) -> f64 {
        z * self.std[c] + self.mean[c]
    }

    /// Scale a whole row-major matrix.
    pub fn transform_all(&self, values: &[f64]) -> Vec<f64> {
        let cols = self.mean.len();
        values.iter().enumerate().map(|(i, &x)| self.transform(i % cols, x)).collect()
    }

    /// As JSON, for the run folder.
    pub fn to_json(&self, columns: &[String]) -> serde_json::Value {
        json!({ "columns": columns, "mean": self.mean, "std": self.std })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_on_the_given_rows_only_and_round_trips() {
        // Two columns; rows 0..3 are "train", row 3 is a huge outlier outside the fit.
        let values = [1.0, 10.0, 2.0, 10.0, 3.0, 10.0, 1000.0, -5.0];
        let s = StandardScaler::fit(&values, 2, 0, 3);
        assert!((s.mean[0] - 2.0).abs() < 1e-12);
        // population std of 1,2,3 = sqrt(2/3)
        assert!((s.std[0] - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.std[1], 1.0, "constant column keeps unit scale");
        let z = s.transform_all(&values);
        for (i, (&x, &zz)) in values.iter().zip(&z).enumerate() {
            assert!((s.inverse(i % 2, zz) - x).abs() < 1e-9);
        }
        assert!((z[0] + 1.224_744_871_391_589).abs() < 1e-12, "(1-2)/sqrt(2/3)");
    }
}
