//! Padding variable-length sequences into one batch with a mask.
//!
//! Shared by every modality: fixed-length forecasting windows need no padding, while lines of
//! text and utterances of audio do. The mask follows burn's convention (`mask_pad`): `true`
//! marks a padded position that attention and losses must ignore.

use burn::tensor::{Bool, Device, Tensor, TensorData};

/// A batch of sequences `[batch, max_len, features]` and its padding mask `[batch, max_len]`.
#[derive(Debug, Clone)]
pub struct PaddedBatch {
    /// Values, zero at padded positions.
    pub values: Tensor<3>,
    /// `true` where a position is padding.
    pub mask_pad: Tensor<2, Bool>,
    /// The true length of each sequence.
    pub lengths: Vec<usize>,
}

/// Pad row-major sequences (`len * features` values each) to the longest one.
pub fn pad_sequences(sequences: &[&[f32]], features: usize, device: &Device) -> PaddedBatch {
    let lengths: Vec<usize> = sequences.iter().map(|s| s.len() / features.max(1)).collect();
    let max_len = lengths.iter().copied().max().unwrap_or(0).max(1);
    let b = sequences.len();
    let mut values = vec![0.0f32; b * max_len * features];
    let mut mask = vec![true; b * max_len];
    for (i, seq) in sequences.iter().enumerate() {
        let start = i * max_len * features;
        values[start..start + seq.len()].copy_from_slice(seq);
        mask[i * max_len..i * max_len + lengths[i]].iter_mut().for_each(|m| *m = false);
    }
    PaddedBatch {
        values: Tensor::from_data(TensorData::new(values, [b, max_len, features]), device),
        mask_pad: Tensor::from_data(TensorData::new(mask, [b, max_len]), device),
        lengths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_and_masks() {
        let device = Device::flex();
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 steps of 2 features
        let b = [7.0f32, 8.0]; // 1 step
        let batch = pad_sequences(&[&a, &b], 2, &device);
        assert_eq!(batch.values.dims(), [2, 3, 2]);
        assert_eq!(batch.lengths, vec![3, 1]);
        let v = batch.values.into_data().try_to_vec::<f32>().expect("f32");
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.0, 0.0, 0.0, 0.0]);
        let m = batch.mask_pad.into_data().try_to_vec::<bool>().expect("bool");
        assert_eq!(m, vec![false, false, false, false, true, true]);
    }
}
