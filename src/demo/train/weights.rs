//! The trainable weights of a demo model under their Hugging Face names: seeded initialisation,
//! the autodiff leaves of one step (a [`WeightSource`], so the inference `Llama` trains as is),
//! and f32 safetensors out and in (f32, so an expert's small task vector is stored exactly).

use std::collections::HashMap;

use burn::prelude::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::demo::vocab::{vocab_size, DemoShape};
use crate::error::{MergeError, Result};
use crate::eval::perplexity::data_f32;
use crate::io::{Checkpoint, TensorSource};
use crate::model::WeightSource;

/// Standard deviation of the initial weights (GPT-2's); residual outputs get less (below).
const INIT_STD: f64 = 0.02;

/// One named tensor, held as `[rows, columns]` (vectors as one row) so every optimiser state
/// has one rank.
#[derive(Clone)]
pub struct NamedWeight {
    pub name: String,
    pub shape: Vec<usize>,
    pub value: Tensor<2>,
}

#[derive(Clone)]
pub struct DemoWeights {
    pub weights: Vec<NamedWeight>,
}

impl DemoWeights {
    /// Fresh weights for `shape`, drawn from `seed`: norms 1, matrices uniform with
    /// [`INIT_STD`], the projections that write into the residual stream scaled by 1/√(2·layers).
    pub fn init(shape: &DemoShape, seed: u64, device: &Device) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let residual_std = INIT_STD / ((2 * shape.layers) as f64).sqrt();
        let weights = tensor_shapes(shape)
            .into_iter()
            .map(|(name, dims)| {
                let count: usize = dims.iter().product();
                let values: Vec<f32> = if dims.len() == 1 {
                    vec![1.0; count]
                } else {
                    let std = match name.ends_with("o_proj.weight")
                        || name.ends_with("down_proj.weight")
                    {
                        true => residual_std,
                        false => INIT_STD,
                    };
                    // Uniform on ±√3·std has standard deviation std.
                    let half_width = 3f64.sqrt() * std;
                    (0..count)
                        .map(|_| rng.random_range(-half_width..half_width) as f32)
                        .collect()
                };
                NamedWeight::new(name, dims, values, device)
            })
            .collect();
        DemoWeights { weights }
    }

    /// Reads every tensor `shape` implies from a checkpoint (a saved demo model).
    pub async fn load<S: TensorSource>(
        shape: &DemoShape,
        checkpoint: &Checkpoint<S>,
        device: &Device,
    ) -> Result<Self> {
        let mut weights = Vec::new();
        for (name, dims) in tensor_shapes(shape) {
            if checkpoint.shape_of(&name).as_deref() != Some(&dims[..]) {
                return Err(MergeError::BadTensor {
                    file: checkpoint.name.clone(),
                    tensor: name,
                    reason: format!("missing or not of shape {dims:?}"),
                });
            }
            let values = checkpoint.read_f32(&name).await?;
            weights.push(NamedWeight::new(name, dims, values, device));
        }
        Ok(DemoWeights { weights })
    }

    pub fn parameter_count(&self) -> usize {
        self.weights
            .iter()
            .map(|w| w.shape.iter().product::<usize>())
            .sum()
    }

    /// All values, flattened in order (for comparing runs).
    pub fn flat_values(&self) -> Result<Vec<f32>> {
        let mut all = Vec::new();
        for weight in &self.weights {
            all.extend(read_values(weight.value.clone())?);
        }
        Ok(all)
    }

    /// The weights as an f32 safetensors file (`format: pt`, as transformers writes them).
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut encoded = Vec::with_capacity(self.weights.len());
        for weight in &self.weights {
            let values = read_values(weight.value.clone())?;
            let bytes: Vec<u8> = bytemuck::cast_slice(&values).to_vec();
            encoded.push((weight.name.clone(), weight.shape.clone(), bytes));
        }
        let views = encoded
            .iter()
            .map(|(name, shape, bytes)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    bytes,
                )
                .map_err(|e| MergeError::Unsupported(format!("{name}: {e}")))?;
                Ok((name.clone(), view))
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::serialize(views, Some(metadata))
            .map_err(|e| MergeError::Unsupported(format!("writing safetensors: {e}")))
    }

    /// Autodiff leaves of the current values, gradients requested where `trained` says so (one
    /// flag per weight): one training step's model.
    pub fn leaves(&self, trained: &[bool]) -> StepLeaves {
        let leaves = self
            .weights
            .iter()
            .zip(trained)
            .map(|(w, &trained)| match trained {
                true => w.value.clone().autodiff().require_grad(),
                false => w.value.clone().autodiff(),
            })
            .collect();
        StepLeaves {
            index: self
                .weights
                .iter()
                .enumerate()
                .map(|(i, w)| (w.name.clone(), i))
                .collect(),
            shapes: self.weights.iter().map(|w| w.shape.clone()).collect(),
            leaves,
        }
    }
}

impl NamedWeight {
    fn new(name: String, shape: Vec<usize>, values: Vec<f32>, device: &Device) -> Self {
        let rows = if shape.len() == 1 { 1 } else { shape[0] };
        let columns = values.len() / rows;
        let value = Tensor::from_data(TensorData::new(values, [rows, columns]), device);
        NamedWeight { name, shape, value }
    }
}

/// The tensors of one step's forward pass; gradients land on [`StepLeaves::leaves`].
pub struct StepLeaves {
    index: HashMap<String, usize>,
    shapes: Vec<Vec<usize>>,
    pub leaves: Vec<Tensor<2>>,
}

impl WeightSource for StepLeaves {
    fn source_name(&self) -> &str {
        "trainable demo weights"
    }

    fn shape_of(&self, tensor: &str) -> Option<Vec<usize>> {
        self.index.get(tensor).map(|&i| self.shapes[i].clone())
    }

    async fn read_f32(&self, tensor: &str) -> Result<Vec<f32>> {
        read_values(self.leaf(tensor)?.clone())
    }

    async fn read_tensor<const D: usize>(
        &self,
        tensor: &str,
        shape: [usize; D],
        _device: &Device,
    ) -> Result<Tensor<D>> {
        Ok(self.leaf(tensor)?.clone().reshape(shape))
    }
}

impl StepLeaves {
    fn leaf(&self, tensor: &str) -> Result<&Tensor<2>> {
        let i = self
            .index
            .get(tensor)
            .ok_or_else(|| MergeError::MissingTensor {
                tensor: tensor.to_string(),
                model: self.source_name().to_string(),
            })?;
        Ok(&self.leaves[*i])
    }
}

/// Every tensor of a demo Llama, HF name and shape, in checkpoint order.
pub fn tensor_shapes(shape: &DemoShape) -> Vec<(String, Vec<usize>)> {
    let (h, i, v) = (shape.hidden, shape.intermediate, vocab_size());
    let mut all = vec![("model.embed_tokens.weight".to_string(), vec![v, h])];
    for layer in 0..shape.layers {
        let p = format!("model.layers.{layer}");
        all.push((format!("{p}.input_layernorm.weight"), vec![h]));
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            all.push((format!("{p}.self_attn.{proj}.weight"), vec![h, h]));
        }
        all.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
        all.push((format!("{p}.mlp.gate_proj.weight"), vec![i, h]));
        all.push((format!("{p}.mlp.up_proj.weight"), vec![i, h]));
        all.push((format!("{p}.mlp.down_proj.weight"), vec![h, i]));
    }
    all.push(("model.norm.weight".to_string(), vec![h]));
    all.push(("lm_head.weight".to_string(), vec![v, h]));
    all
}

fn read_values<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    data_f32(tensor.into_data())
}
