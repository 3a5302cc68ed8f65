//! The building blocks both architectures share: linear maps, norms, causal attention.

use burn::prelude::{Device, Tensor, TensorData};
use burn::tensor::activation::softmax;

use super::weights::{WeightLoader, WeightSource};
use crate::error::Result;

/// `y = x W + b` with `W` stored `[in, out]`, so the forward pass is a plain matmul.
pub struct Linear {
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
}

impl Linear {
    /// A Hugging Face `nn.Linear` (`{prefix}.weight` is `[out, in]`, transposed once here).
    pub async fn load_hf<W: WeightSource>(
        loader: &WeightLoader<'_, W>,
        prefix: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        let weight = loader
            .tensor(&format!("{prefix}.weight"), [outputs, inputs])
            .await?
            .transpose();
        let bias = loader
            .optional(&format!("{prefix}.bias"), [outputs])
            .await?;
        Ok(Linear { weight, bias })
    }

    /// A GPT-2 `Conv1D` (`{prefix}.weight` is already `[in, out]`; the bias is required).
    pub async fn load_conv1d<W: WeightSource>(
        loader: &WeightLoader<'_, W>,
        prefix: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        let weight = loader
            .tensor(&format!("{prefix}.weight"), [inputs, outputs])
            .await?;
        let bias = Some(loader.tensor(&format!("{prefix}.bias"), [outputs]).await?);
        Ok(Linear { weight, bias })
    }

    /// An output head sharing the token embedding `[vocab, hidden]` (tied weights).
    pub fn tied(embedding: &Tensor<2>) -> Self {
        Linear {
            weight: embedding.clone().transpose(),
            bias: None,
        }
    }

    /// `x`: `[tokens, in]` → `[tokens, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = x.matmul(self.weight.clone());
        match &self.bias {
            Some(bias) => y + bias.clone().unsqueeze::<2>(),
            None => y,
        }
    }
}

/// RMSNorm: `x / sqrt(mean(x²) + eps) * w` over the last dimension.
pub struct RmsNorm {
    pub weight: Tensor<1>,
    pub eps: f64,
}

impl RmsNorm {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let rms = (x.clone().square().mean_dim(1) + self.eps).sqrt();
        x / rms * self.weight.clone().unsqueeze::<2>()
    }
}

/// LayerNorm: `(x - mean) / sqrt(var + eps) * w + b` over the last dimension.
pub struct LayerNorm {
    pub weight: Tensor<1>,
    pub bias: Tensor<1>,
    pub eps: f64,
}

impl LayerNorm {
    pub async fn load<W: WeightSource>(
        loader: &WeightLoader<'_, W>,
        prefix: &str,
        width: usize,
        eps: f64,
    ) -> Result<Self> {
        Ok(LayerNorm {
            weight: loader.tensor(&format!("{prefix}.weight"), [width]).await?,
            bias: loader.tensor(&format!("{prefix}.bias"), [width]).await?,
            eps,
        })
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let centered = x.clone() - x.mean_dim(1);
        let std = (centered.clone().square().mean_dim(1) + self.eps).sqrt();
        centered / std * self.weight.clone().unsqueeze::<2>() + self.bias.clone().unsqueeze::<2>()
    }
}

/// `[tokens, heads × head_dim]` → `[heads, tokens, head_dim]`.
pub fn split_heads(x: Tensor<2>, heads: usize) -> Tensor<3> {
    let [tokens, width] = x.dims();
    x.reshape([tokens, heads, width / heads]).swap_dims(0, 1)
}

/// `[heads, tokens, head_dim]` → `[tokens, heads × head_dim]`.
pub fn merge_heads(x: Tensor<3>) -> Tensor<2> {
    let [heads, tokens, head_dim] = x.dims();
    x.swap_dims(0, 1).reshape([tokens, heads * head_dim])
}

/// Each KV head serves `group` consecutive query heads: `[kv, t, d]` → `[kv × group, t, d]`.
pub fn repeat_kv(x: Tensor<3>, group: usize) -> Tensor<3> {
    if group == 1 {
        return x;
    }
    let [kv_heads, tokens, head_dim] = x.dims();
    x.unsqueeze_dim::<4>(1)
        .repeat_dim(1, group)
        .reshape([kv_heads * group, tokens, head_dim])
}

/// Scaled dot-product attention of `q` (the newest tokens) over all cached `k`, `v`; query `i`
/// sits at position `past + i` and sees keys `0..=past + i`.
pub fn causal_attention(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
    let [_, new, head_dim] = q.dims();
    let total = k.dims()[1];
    let scores = q.matmul(k.swap_dims(1, 2)) / (head_dim as f64).sqrt();
    let mask = causal_mask(new, total, &scores.device());
    softmax(scores + mask.unsqueeze::<3>(), 2).matmul(v)
}

/// `[new, total]`: 0 where a query may look, −∞ where the key lies in its future.
fn causal_mask(new: usize, total: usize, device: &Device) -> Tensor<2> {
    let past = total - new;
    let values: Vec<f32> = (0..new)
        .flat_map(|i| (0..total).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_data(TensorData::new(values, [new, total]), device)
}
