//! Rotary position embedding as Hugging Face Llama applies it: dimension `i` pairs with
//! `i + head_dim/2`, frequencies `θ^(-2i/d)`, optionally rescaled (`rope_scaling`).

use std::f64::consts::PI;

use burn::prelude::{Device, Tensor, TensorData};

/// `rope_scaling` kinds from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Positions divided by `factor`.
    Linear { factor: f64 },
    /// Llama 3: long wavelengths slowed by `factor`, short ones kept, a blend between.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: f64,
    },
}

/// The rotation frequencies of one head, after scaling.
#[derive(Debug, Clone)]
pub struct Rope {
    inv_freq: Vec<f64>,
}

impl Rope {
    pub fn new(head_dim: usize, theta: f64, scaling: Option<&RopeScaling>) -> Self {
        let base = (0..head_dim / 2).map(|i| theta.powf(-((2 * i) as f64) / head_dim as f64));
        let inv_freq = match scaling {
            None => base.collect(),
            Some(RopeScaling::Linear { factor }) => base.map(|f| f / factor).collect(),
            Some(RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings: old_len,
            }) => base
                .map(|f| {
                    let wavelength = 2.0 * PI / f;
                    if wavelength < old_len / high_freq_factor {
                        f
                    } else if wavelength > old_len / low_freq_factor {
                        f / factor
                    } else {
                        let smooth = (old_len / wavelength - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                })
                .collect(),
        };
        Rope { inv_freq }
    }

    pub fn inv_freq(&self) -> &[f64] {
        &self.inv_freq
    }

    /// Rotates `x` (`[heads, tokens, head_dim]`) whose first token sits at position `first`.
    pub fn apply(&self, x: Tensor<3>, first: usize) -> Tensor<3> {
        let [_, tokens, head_dim] = x.dims();
        let (cos, sin) = self.tables(first, tokens, &x.device());
        let half = head_dim / 2;
        let low = x.clone().slice([0..x.dims()[0], 0..tokens, 0..half]);
        let high = x.clone().slice([0..x.dims()[0], 0..tokens, half..head_dim]);
        let rotated = Tensor::cat(vec![high.neg(), low], 2);
        x * cos.unsqueeze::<3>() + rotated * sin.unsqueeze::<3>()
    }

    /// cos and sin of every (position, frequency), each frequency written twice: `[tokens, d]`.
    fn tables(&self, first: usize, tokens: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let width = 2 * self.inv_freq.len();
        let mut cos = Vec::with_capacity(tokens * width);
        let mut sin = Vec::with_capacity(tokens * width);
        for position in first..first + tokens {
            for _ in 0..2 {
                for f in &self.inv_freq {
                    let angle = position as f64 * f;
                    cos.push(angle.cos() as f32);
                    sin.push(angle.sin() as f32);
                }
            }
        }
        let cos = Tensor::from_data(TensorData::new(cos, [tokens, width]), device);
        let sin = Tensor::from_data(TensorData::new(sin, [tokens, width]), device);
        (cos, sin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_scaling_keeps_high_slows_low_and_blends_between() {
        let scaling = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 100.0,
        };
        let plain = Rope::new(8, 10_000.0, None);
        let scaled = Rope::new(8, 10_000.0, Some(&scaling));
        let (p, s) = (plain.inv_freq(), scaled.inv_freq());
        // Wavelengths 2π·{1, 10, 100, 1000}: below 25 kept, above 100 slowed, 62.8 blended.
        assert_eq!(s[0], p[0]);
        assert!(s[1] < p[1] && s[1] > p[1] / 8.0, "{} vs {}", s[1], p[1]);
        assert!((s[2] - p[2] / 8.0).abs() < 1e-15);
        assert!((s[3] - p[3] / 8.0).abs() < 1e-15);
    }

    #[test]
    fn linear_scaling_divides_every_frequency() {
        let plain = Rope::new(4, 500.0, None);
        let scaled = Rope::new(4, 500.0, Some(&RopeScaling::Linear { factor: 2.0 }));
        for (p, s) in plain.inv_freq().iter().zip(scaled.inv_freq()) {
            assert!((p / 2.0 - s).abs() < 1e-15);
        }
    }
}
