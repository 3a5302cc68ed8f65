//! The checkpoints a search merges, held in memory once, and one recipe merged from them in
//! memory: planned like `mixmerge merge` plans it (every check included), each tensor through
//! its kernel whole, rounded to the recipe's output dtype, and never written.

use std::path::{Component, Path, PathBuf};

use crate::config::MergeSpec;
use crate::demo::sweep::merge::merge_tensor;
use crate::demo::sweep::{HostTensor, TensorSet};
use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, MemorySource, TensorSource};
use crate::plan::plan_merge;

/// One checkpoint: its header (to plan with) and its tensors as f32.
pub struct PoolModel {
    /// Normalised (see [`normalise`]).
    pub path: PathBuf,
    header: Checkpoint<MemorySource>,
    pub weights: TensorSet,
}

impl PoolModel {
    /// Reads every tensor of `checkpoint`, found at `path`.
    pub async fn read<S: TensorSource>(path: &Path, checkpoint: &Checkpoint<S>) -> Result<Self> {
        let mut weights = TensorSet::read(checkpoint).await?;
        weights.name = short_name(path);
        Ok(PoolModel {
            path: normalise(path),
            header: header_of(checkpoint),
            weights,
        })
    }
}

/// A merge made in memory.
pub struct Merged {
    pub weights: TensorSet,
    /// The output's layer count when slices renumber layers.
    pub num_hidden_layers: Option<usize>,
}

#[derive(Default)]
pub struct Pool {
    pub models: Vec<PoolModel>,
}

impl Pool {
    /// The model at `path` (compared after [`normalise`]).
    pub fn find(&self, path: &Path) -> Result<&PoolModel> {
        let wanted = normalise(path);
        self.models
            .iter()
            .find(|m| m.path == wanted)
            .ok_or_else(|| MergeError::ModelNotFound {
                path: format!("{} (not loaded for this search)", path.display()),
            })
    }

    /// `spec` merged with `seed` (DARE's and DELLA's streams, M³'s draw).
    pub fn merge(&self, spec: &MergeSpec, seed: u64) -> Result<Merged> {
        let models: Vec<&PoolModel> = spec
            .models
            .iter()
            .map(|m| self.find(&m.path))
            .collect::<Result<_>>()?;
        let headers: Vec<Checkpoint<MemorySource>> =
            models.iter().map(|m| header_of(&m.header)).collect();
        let plan = plan_merge(spec, &headers, Some(seed))?;
        let mut merged = TensorSet {
            name: spec.method.key().to_string(),
            tensors: Default::default(),
        };
        let values_of = |model: usize, tensor: &str| -> &[f32] {
            &models[model].weights.tensors[tensor].values
        };
        for tensor in &plan.tensors {
            let base = tensor.base.as_ref().map(|b| values_of(b.model, &b.tensor));
            let inputs: Vec<&[f32]> = tensor
                .inputs
                .iter()
                .map(|i| values_of(i.model, &i.tensor))
                .collect();
            let mut values = merge_tensor(&tensor.recipe, base, &inputs)?;
            round_to(plan.out_dtype, &mut values);
            let shape = tensor.output.shape.clone();
            merged
                .tensors
                .insert(tensor.output.name.clone(), HostTensor { shape, values });
        }
        Ok(Merged {
            weights: merged,
            num_hidden_layers: plan.num_hidden_layers,
        })
    }
}

/// What the file would hold: values encoded in `dtype` and decoded again.
fn round_to(dtype: crate::dtype::DType, values: &mut [f32]) {
    if dtype == crate::dtype::DType::F32 {
        return;
    }
    let mut bytes = vec![0u8; values.len() * dtype.size()];
    dtype.encode(values, &mut bytes);
    dtype.decode(&bytes, values);
}

/// The tensor table of `checkpoint` with no data behind it: planning reads headers only.
fn header_of<S>(checkpoint: &Checkpoint<S>) -> Checkpoint<MemorySource> {
    Checkpoint {
        name: checkpoint.name.clone(),
        shards: Vec::new(),
        tensors: checkpoint.tensors.clone(),
        order: checkpoint.order.clone(),
        metadata: checkpoint.metadata.clone(),
    }
}

/// `a/b/../c/./d` → `a/c/d`, without touching a file system (the tab has none).
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The folder's name: how logs and figures call a model.
pub fn short_name(path: &Path) -> String {
    normalise(path).file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compare_after_lexical_normalisation() {
        assert_eq!(
            normalise(Path::new("www/demo/search/../sorting")),
            normalise(Path::new("www/demo/recipes/../sorting/."))
        );
        assert_eq!(normalise(Path::new("../a/b/..")), PathBuf::from("../a"));
        assert_eq!(short_name(Path::new("x/sorting-2/")), "sorting-2");
    }
}
