//! Training losses.

use burn::prelude::*;
use seqlab_config::LossKind;

/// Mean loss between a forecast and its target (any matching shapes).
pub fn forecast_loss<const D: usize>(pred: Tensor<D>, target: Tensor<D>, kind: LossKind, delta: f64) -> Tensor<1> {
    let diff = pred - target;
    match kind {
        LossKind::Mse => diff.square().mean(),
        LossKind::Mae => diff.abs().mean(),
        LossKind::Huber => {
            let a = diff.abs();
            let small = a.clone().lower_equal_elem(delta).float();
            let quad = a.clone().square() * 0.5;
            let lin = (a - 0.5 * delta) * delta;
            (small.clone() * quad + (small.neg() + 1.0) * lin).mean()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn losses_match_hand_values() {
        let device = Device::flex();
        let p = Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.0, 0.0], [3]), &device);
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, -2.0, 3.0], [3]), &device);
        let v = |k, d| forecast_loss(p.clone(), t.clone(), k, d).into_scalar::<f32>();
        // MSE: (0.25 + 4 + 9) / 3
        assert!((v(LossKind::Mse, 1.0) - 13.25 / 3.0).abs() < 1e-6);
        // MAE: (0.5 + 2 + 3) / 3
        assert!((v(LossKind::Mae, 1.0) - 5.5 / 3.0).abs() < 1e-6);
        // Huber(1): 0.5*0.25 = 0.125; 2 - 0.5 = 1.5; 3 - 0.5 = 2.5 -> 4.125 / 3
        assert!((v(LossKind::Huber, 1.0) - 4.125 / 3.0).abs() < 1e-6);
    }
}
