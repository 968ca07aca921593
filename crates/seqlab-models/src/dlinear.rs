//! DLinear (Zeng et al., AAAI 2023): a moving-average trend / remainder split of each input
//! window, one linear map from look-back to horizon for each part, summed.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;

/// Configuration of [`DLinear`].
#[derive(Debug, Clone)]
pub struct DLinearConfig {
    /// Look-back L.
    pub lookback: usize,
    /// Horizon H.
    pub horizon: usize,
    /// Channels.
    pub channels: usize,
    /// Moving-average kernel (odd).
    pub kernel: usize,
    /// One pair of maps per channel instead of one shared pair.
    pub individual: bool,
}

impl DLinearConfig {
    /// Build the model.
    pub fn init(&self, device: &Device) -> DLinear {
        let n = if self.individual { self.channels } else { 1 };
        // The reference implementation initialises both maps to the mean (1/L).
        let init = burn::nn::Initializer::Constant { value: 1.0 / self.lookback as f64 };
        let mk = || {
            let mut lin = LinearConfig::new(self.lookback, self.horizon).with_initializer(init.clone()).init(device);
            lin.bias = Some(burn::module::Param::from_tensor(Tensor::zeros([self.horizon], device)));
            lin
        };
        DLinear {
            seasonal: (0..n).map(|_| mk()).collect(),
            trend: (0..n).map(|_| mk()).collect(),
            averaging: moving_average_matrix(self.lookback, self.kernel),
            lookback: self.lookback,
            horizon: self.horizon,
        }
    }
}

/// The `[L, L]` matrix `A` with `trend = x A`: a centred moving average whose window is padded
/// by repeating the first and last values (as the reference implementation pads).
pub fn moving_average_matrix(l: usize, k: usize) -> Vec<f32> {
    let half = (k / 2) as isize;
    let mut a = vec![0.0f32; l * l];
    for t in 0..l as isize {
        for j in -half..=half {
            let src = (t + j).clamp(0, l as isize - 1) as usize;
            a[src * l + t as usize] += 1.0 / k as f32;
        }
    }
    a
}

/// DLinear.
#[derive(Module, Debug)]
pub struct DLinear {
    /// Maps of the remainder (one, or one per channel).
    pub seasonal: Vec<Linear>,
    /// Maps of the trend.
    pub trend: Vec<Linear>,
    /// Moving-average matrix, row-major `[L, L]`.
    #[module(skip)]
    averaging: Vec<f32>,
    /// Look-back.
    pub lookback: usize,
    /// Horizon.
    pub horizon: usize,
}

impl DLinear {
    /// `[batch, lookback, channels] -> [batch, horizon, channels]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, l, c] = x.dims();
        let device = x.device();
        let a = Tensor::<2>::from_data(TensorData::new(self.averaging.clone(), [l, l]), &device);
        // [B, C, L]
        let xc = x.swap_dims(1, 2);
        let trend = xc.clone().matmul(a.unsqueeze_dim::<3>(0));
        let seasonal = xc - trend.clone();
        let out = if self.seasonal.len() == 1 {
            self.seasonal[0].forward(seasonal) + self.trend[0].forward(trend)
        } else {
            let parts: Vec<Tensor<3>> = (0..c)
                .map(|ch| {
                    let s = seasonal.clone().slice(burn::tensor::s![.., ch..ch + 1, ..]);
                    let t = trend.clone().slice(burn::tensor::s![.., ch..ch + 1, ..]);
                    self.seasonal[ch].forward(s) + self.trend[ch].forward(t)
                })
                .collect();
            Tensor::cat(parts, 1)
        };
        debug_assert_eq!(out.dims(), [b, c, self.horizon]);
        out.swap_dims(1, 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averaging_matrix_pads_by_repetition() {
        // L = 4, k = 3: trend[0] = (x0 + x0 + x1) / 3, trend[3] = (x2 + x3 + x3) / 3.
        let a = moving_average_matrix(4, 3);
        let x = [3.0f32, 6.0, 9.0, 12.0];
        let trend: Vec<f32> = (0..4).map(|t| (0..4).map(|s| x[s] * a[s * 4 + t]).sum()).collect();
        let expected = [4.0, 6.0, 9.0, 11.0];
        for (a, b) in trend.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{trend:?}");
        }
    }

    #[test]
    fn initial_forecast_is_the_window_mean() {
        // With both maps at 1/L and trend + remainder = x, every output is the window mean.
        let device = Device::flex();
        let m = DLinearConfig { lookback: 8, horizon: 3, channels: 2, kernel: 5, individual: true }.init(&device);
        let x = Tensor::<3>::random([2, 8, 2], burn::tensor::Distribution::Default, &device);
        let mean = x.clone().mean_dim(1);
        let y = m.forward(x);
        assert_eq!(y.dims(), [2, 3, 2]);
        let err = (y - mean).abs().max().into_scalar::<f32>();
        assert!(err < 1e-3, "{err}");
    }
}
