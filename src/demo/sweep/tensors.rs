//! A model's weights held in memory as f32, by Hugging Face name: read once from a checkpoint,
//! merged point after point, and handed to burn through [`WeightSource`].

use std::collections::BTreeMap;

use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, TensorSource};
use crate::model::WeightSource;

/// One tensor's shape and values (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every tensor of one model, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSet {
    pub name: String,
    pub tensors: BTreeMap<String, HostTensor>,
}

impl TensorSet {
    /// Reads and decodes every tensor of `checkpoint`.
    pub async fn read<S: TensorSource>(checkpoint: &Checkpoint<S>) -> Result<Self> {
        let mut tensors = BTreeMap::new();
        for (name, location) in &checkpoint.tensors {
            let values = checkpoint.read_f32(name).await?;
            let shape = location.info.shape.clone();
            tensors.insert(name.clone(), HostTensor { shape, values });
        }
        Ok(TensorSet {
            name: checkpoint.name.clone(),
            tensors,
        })
    }

    /// `tensor` of this model, which `other` (named for the message) also has.
    pub fn matching(&self, tensor: &str, other: &TensorSet) -> Result<&HostTensor> {
        let mine = self
            .tensors
            .get(tensor)
            .ok_or_else(|| MergeError::MissingTensor {
                tensor: tensor.to_string(),
                model: self.name.clone(),
            })?;
        let theirs = &other.tensors[tensor];
        if mine.shape != theirs.shape {
            return Err(MergeError::Mismatch {
                tensor: tensor.to_string(),
                model: self.name.clone(),
                reason: format!(
                    "shape {:?}, but {} has {:?}",
                    mine.shape, other.name, theirs.shape
                ),
            });
        }
        Ok(mine)
    }

    /// Checks that `others` hold exactly this model's tensor names with the same shapes.
    pub fn check_same_layout(&self, others: &[&TensorSet]) -> Result<()> {
        for other in others {
            for name in self.tensors.keys() {
                other.matching(name, self)?;
            }
            if let Some(extra) = other
                .tensors
                .keys()
                .find(|n| !self.tensors.contains_key(*n))
            {
                return Err(MergeError::MissingTensor {
                    tensor: extra.clone(),
                    model: self.name.clone(),
                });
            }
        }
        Ok(())
    }

    pub fn numel(&self) -> usize {
        self.tensors.values().map(|t| t.values.len()).sum()
    }
}

impl WeightSource for TensorSet {
    fn source_name(&self) -> &str {
        &self.name
    }

    fn shape_of(&self, tensor: &str) -> Option<Vec<usize>> {
        self.tensors.get(tensor).map(|t| t.shape.clone())
    }

    async fn read_f32(&self, tensor: &str) -> Result<Vec<f32>> {
        self.tensors
            .get(tensor)
            .map(|t| t.values.clone())
            .ok_or_else(|| MergeError::MissingTensor {
                tensor: tensor.to_string(),
                model: self.name.clone(),
            })
    }
}
