//! Task-vector anatomy: for a base and N experts, how their task vectors τᵢ = expertᵢ − base
//! relate — per tensor (grouped by layer) the cosine similarity and sign-conflict rate of every
//! pair, each expert's |τ| histogram on a log scale, and for one tensor the TIES trim/elect and
//! DARE masks of a merge of them. Reads tensors through [`Checkpoint`] (files natively, `Blob`s
//! in the browser); draws with [`svg::render`].

mod histogram;
mod masks;
mod pairs;
mod png;
pub mod svg;

use serde::Serialize;

pub use histogram::{shared_histograms, Histogram, OctaveCounts};
pub use masks::{
    recipe, tensor_masks, DareCounts, MaskImages, TensorMasks, TiesCounts, MAX_SIDE, TIES_AGREES,
    TIES_DISAGREES, TIES_DROPPED,
};
pub use pairs::{pairs_of, PairFigures, PairSums};

use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, TensorSource};
use crate::plan::layer_of;

/// What to draw the masks of, and with which merge settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AnatomyOptions {
    /// The tensor whose masks are drawn (default: the first 2-D tensor of the lowest layer).
    pub tensor: Option<String>,
    /// TIES trim and DARE keep fraction.
    pub density: f64,
    /// Seed of DARE's random streams (a merge with `--seed` this value draws the same mask).
    pub seed: u64,
}

impl Default for AnatomyOptions {
    fn default() -> Self {
        AnatomyOptions {
            tensor: None,
            density: 0.5,
            seed: 0,
        }
    }
}

/// Everything the figure shows (and `--json` writes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anatomy {
    pub base: String,
    pub models: Vec<String>,
    /// The expert pairs, in the order of every `pairs` list below.
    pub pairs: Vec<[String; 2]>,
    /// Per tensor, layer by layer (tensors outside numbered layers last).
    pub tensors: Vec<TensorFigures>,
    /// The same figures over each layer's tensors together.
    pub layers: Vec<LayerFigures>,
    /// Over the whole model.
    pub overall: Vec<PairFigures>,
    pub histograms: Vec<Histogram>,
    pub masks: TensorMasks,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorFigures {
    pub name: String,
    pub layer: Option<usize>,
    pub shape: Vec<usize>,
    pub pairs: Vec<PairFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerFigures {
    /// `None`: the tensors outside numbered layers (embeddings, final norm, head).
    pub layer: Option<usize>,
    pub tensors: usize,
    pub elements: u64,
    pub pairs: Vec<PairFigures>,
}

/// The anatomy of `experts` relative to `base`, reading one tensor (of every model) at a time.
/// Every check (tensor present in each expert, same shape, the chosen tensor exists) happens
/// before any tensor data is read.
pub async fn anatomy<S: TensorSource>(
    base: &Checkpoint<S>,
    experts: &[Checkpoint<S>],
    options: &AnatomyOptions,
) -> Result<Anatomy> {
    let tensors = checked_tensors(base, experts)?;
    if !(0.0..=1.0).contains(&options.density) {
        return Err(MergeError::config(
            "density",
            format!("must be within [0, 1], got {}", options.density),
        ));
    }
    let chosen = chosen_tensor(base, &tensors, options.tensor.as_deref())?;
    let models: Vec<String> = experts.iter().map(|e| e.name.clone()).collect();
    let pairs = pairs_of(experts.len());

    let mut per_tensor = Vec::new();
    let mut magnitudes = vec![OctaveCounts::default(); experts.len()];
    let mut masks = None;
    for (name, shape) in &tensors {
        let base_values = base.read_f32(name).await?;
        let mut task_vectors = Vec::with_capacity(experts.len());
        for (expert, counts) in experts.iter().zip(&mut magnitudes) {
            let mut tv = expert.read_f32(name).await?;
            tv.iter_mut().zip(&base_values).for_each(|(t, b)| *t -= b);
            counts.add(&tv);
            task_vectors.push(tv);
        }
        let sums: Vec<PairSums> = pairs
            .iter()
            .map(|&(i, j)| PairSums::of(&task_vectors[i], &task_vectors[j]))
            .collect();
        if *name == chosen {
            let m = tensor_masks(
                name,
                shape,
                &models,
                &task_vectors,
                options.density,
                options.seed,
            )?;
            masks = Some(m);
        }
        per_tensor.push((name.clone(), shape.clone(), sums));
    }

    let overall = summed(per_tensor.iter().map(|(_, _, s)| s), pairs.len());
    Ok(Anatomy {
        base: base.name.clone(),
        pairs: pairs
            .iter()
            .map(|&(i, j)| [models[i].clone(), models[j].clone()])
            .collect(),
        layers: layer_figures(&per_tensor, pairs.len()),
        tensors: per_tensor
            .into_iter()
            .map(|(name, shape, sums)| TensorFigures {
                layer: layer_of(&name),
                pairs: sums.iter().map(PairSums::figures).collect(),
                name,
                shape,
            })
            .collect(),
        overall: overall.iter().map(PairSums::figures).collect(),
        histograms: shared_histograms(&models.iter().cloned().zip(magnitudes).collect::<Vec<_>>()),
        masks: masks.expect("the chosen tensor is one of the tensors"),
        models,
    })
}

/// The base's tensors with their shapes, layer by layer (file order within a layer), after
/// checking that every expert has each one with the same shape.
fn checked_tensors<S: TensorSource>(
    base: &Checkpoint<S>,
    experts: &[Checkpoint<S>],
) -> Result<Vec<(String, Vec<usize>)>> {
    if experts.is_empty() {
        return Err(MergeError::config(
            "models",
            "the anatomy needs at least one expert besides the base",
        ));
    }
    let mut tensors = Vec::new();
    for name in &base.order {
        let shape = &base.tensors[name].info.shape;
        for expert in experts {
            let theirs = expert.get(name).ok_or_else(|| MergeError::MissingTensor {
                tensor: name.clone(),
                model: expert.name.clone(),
            })?;
            if &theirs.info.shape != shape {
                return Err(MergeError::Mismatch {
                    tensor: name.clone(),
                    model: expert.name.clone(),
                    reason: format!(
                        "shape {:?} differs from the base's {:?}",
                        theirs.info.shape, shape
                    ),
                });
            }
        }
        tensors.push((name.clone(), shape.clone()));
    }
    // Numbered layers in order, then the rest; stable, so file order within each.
    tensors.sort_by_key(|(name, _)| layer_of(name).unwrap_or(usize::MAX));
    Ok(tensors)
}

fn chosen_tensor<S: TensorSource>(
    base: &Checkpoint<S>,
    tensors: &[(String, Vec<usize>)],
    asked: Option<&str>,
) -> Result<String> {
    if let Some(name) = asked {
        return match tensors.iter().any(|(n, _)| n == name) {
            true => Ok(name.to_string()),
            false => Err(MergeError::MissingTensor {
                tensor: name.to_string(),
                model: base.name.clone(),
            }),
        };
    }
    let first_matrix = tensors.iter().find(|(_, shape)| shape.len() == 2);
    Ok(first_matrix
        .or(tensors.first())
        .expect("a checkpoint has tensors")
        .0
        .clone())
}

fn summed<'a>(sums: impl Iterator<Item = &'a Vec<PairSums>>, pairs: usize) -> Vec<PairSums> {
    let mut total = vec![PairSums::default(); pairs];
    for tensor in sums {
        total.iter_mut().zip(tensor).for_each(|(t, s)| t.add(s));
    }
    total
}

fn layer_figures(
    per_tensor: &[(String, Vec<usize>, Vec<PairSums>)],
    pairs: usize,
) -> Vec<LayerFigures> {
    let mut layers: Vec<LayerFigures> = Vec::new();
    let mut start = 0;
    while start < per_tensor.len() {
        let layer = layer_of(&per_tensor[start].0);
        let len = per_tensor[start..]
            .iter()
            .take_while(|(name, _, _)| layer_of(name) == layer)
            .count();
        let group = &per_tensor[start..start + len];
        layers.push(LayerFigures {
            layer,
            tensors: len,
            elements: group
                .iter()
                .map(|(_, shape, _)| shape.iter().product::<usize>() as u64)
                .sum(),
            pairs: summed(group.iter().map(|(_, _, s)| s), pairs)
                .iter()
                .map(PairSums::figures)
                .collect(),
        });
        start += len;
    }
    layers
}
