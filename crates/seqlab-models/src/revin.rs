//! Reversible instance normalisation (RevIN, Kim et al., ICLR 2022).
//!
//! Each input window is normalised per channel with its own mean and standard deviation (and a
//! learned affine map); the forecast is mapped back with the same statistics. This removes the
//! level shift between training and test periods that hurts models on non-stationary series.

use burn::module::Param;
use burn::prelude::*;

/// Statistics of a batch of windows, kept to undo the normalisation.
#[derive(Debug, Clone)]
pub struct RevInStats {
    mean: Tensor<3>,
    std: Tensor<3>,
}

/// RevIN with a learned per-channel affine map.
#[derive(Module, Debug)]
pub struct RevIn {
    /// Per-channel scale `[channels]`.
    pub weight: Param<Tensor<1>>,
    /// Per-channel shift `[channels]`.
    pub bias: Param<Tensor<1>>,
    /// Added to the variance.
    pub eps: f64,
}

impl RevIn {
    /// RevIN for `channels` channels.
    pub fn new(channels: usize, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::ones([channels], device)),
            bias: Param::from_tensor(Tensor::zeros([channels], device)),
            eps: 1e-5,
        }
    }

    /// `[batch, lookback, channels]` -> normalised windows and their statistics.
    pub fn normalize(&self, x: Tensor<3>) -> (Tensor<3>, RevInStats) {
        let mean = x.clone().mean_dim(1).detach();
        let centered = x - mean.clone();
        let std = (centered.clone().square().mean_dim(1) + self.eps).sqrt().detach();
        let y = centered / std.clone();
        let w = self.weight.val().unsqueeze_dims::<3>(&[0, 1]);
        let b = self.bias.val().unsqueeze_dims::<3>(&[0, 1]);
        (y * w + b, RevInStats { mean, std })
    }

    /// `[batch, horizon, k]` forecast of the first `k` channels back to the input scale.
    pub fn denormalize(&self, y: Tensor<3>, stats: &RevInStats) -> Tensor<3> {
        let k = y.dims()[2];
        let w = self.weight.val().slice(0..k).unsqueeze_dims::<3>(&[0, 1]);
        let b = self.bias.val().slice(0..k).unsqueeze_dims::<3>(&[0, 1]);
        let mean = stats.mean.clone().slice(burn::tensor::s![.., .., 0..k]);
        let std = stats.std.clone().slice(burn::tensor::s![.., .., 0..k]);
        ((y - b) / (w + 1e-10)) * std + mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let device = Device::flex();
        let r = RevIn::new(3, &device);
        let x = Tensor::<3>::random([2, 10, 3], burn::tensor::Distribution::Normal(5.0, 2.0), &device);
        let (z, stats) = r.normalize(x.clone());
        let m = z.clone().mean_dim(1).abs().max().into_scalar::<f32>();
        assert!(m < 1e-4, "windows are centred: {m}");
        let back = r.denormalize(z, &stats);
        let err = (back - x).abs().max().into_scalar::<f32>();
        assert!(err < 1e-3, "{err}");
    }
}
