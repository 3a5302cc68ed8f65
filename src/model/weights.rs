//! Model weights by their Hugging Face name, decoded to f32: from a safetensors [`Checkpoint`]
//! today, from a GGUF file through the same trait tomorrow.

use burn::prelude::{Device, Tensor, TensorData};

use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, TensorSource};

/// Anything that can hand out a tensor by its Hugging Face name as f32 values, row-major.
#[allow(async_fn_in_trait)]
pub trait WeightSource {
    /// The file or model the tensors come from; errors name it.
    fn source_name(&self) -> &str;

    /// The tensor's shape, or `None` when the model has no tensor of that name.
    fn shape_of(&self, tensor: &str) -> Option<Vec<usize>>;

    /// All elements of `tensor`, decoded to f32.
    async fn read_f32(&self, tensor: &str) -> Result<Vec<f32>>;

    /// `tensor` on `device` (its shape already checked). Sources that hold burn tensors (the
    /// trainable weights of `train-demo`) hand them out as they are, keeping their autodiff graph.
    async fn read_tensor<const D: usize>(
        &self,
        tensor: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        let values = self.read_f32(tensor).await?;
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }
}

impl<S: TensorSource> WeightSource for Checkpoint<S> {
    fn source_name(&self) -> &str {
        &self.name
    }

    fn shape_of(&self, tensor: &str) -> Option<Vec<usize>> {
        self.get(tensor).map(|loc| loc.info.shape.clone())
    }

    async fn read_f32(&self, tensor: &str) -> Result<Vec<f32>> {
        Checkpoint::read_f32(self, tensor).await
    }
}

/// Loads named tensors onto a burn device, checking each shape against what the config implies.
pub struct WeightLoader<'a, W> {
    pub source: &'a W,
    pub device: &'a Device,
}

impl<W: WeightSource> WeightLoader<'_, W> {
    pub fn contains(&self, tensor: &str) -> bool {
        self.source.shape_of(tensor).is_some()
    }

    /// `tensor`, which must have exactly `shape`.
    pub async fn tensor<const D: usize>(
        &self,
        tensor: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>> {
        let found = self
            .source
            .shape_of(tensor)
            .ok_or_else(|| MergeError::MissingTensor {
                tensor: tensor.to_string(),
                model: self.source.source_name().to_string(),
            })?;
        if found != shape {
            return Err(MergeError::BadTensor {
                file: self.source.source_name().to_string(),
                tensor: tensor.to_string(),
                reason: format!("shape {found:?}, but config.json implies {shape:?}"),
            });
        }
        self.source.read_tensor(tensor, shape, self.device).await
    }

    /// `tensor` if the model has it (optional biases).
    pub async fn optional<const D: usize>(
        &self,
        tensor: &str,
        shape: [usize; D],
    ) -> Result<Option<Tensor<D>>> {
        match self.contains(tensor) {
            true => self.tensor(tensor, shape).await.map(Some),
            false => Ok(None),
        }
    }
}
