//! For one tensor: which elements of each task vector survive TIES's trim and agree with the
//! elected sign, and which DARE keeps. Both come from the merge's own code (the sparsifiers
//! `gta::make_sparsifier` builds, `Consensus::elect`), with the recipe a TIES / DARE-TIES merge
//! of these experts would use (weight 1 each, the given density and seed), so a mask here is
//! the merge's mask bit for bit.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::merge::catalog::{MethodKind, ParamName};
use crate::merge::consensus::{sign, Consensus};
use crate::merge::gta::make_sparsifier;
use crate::merge::sparsify::SparsifyKind;
use crate::merge::TensorRecipe;

/// Longest side drawn: larger tensors are shown by their first rows and columns.
pub const MAX_SIDE: usize = 512;

/// A TIES cell: the element was trimmed (or is zero), so it adds nothing.
pub const TIES_DROPPED: u8 = 0;
/// Kept by the trim, and its sign is the elected one: it is averaged in.
pub const TIES_AGREES: u8 = 1;
/// Kept by the trim, but outvoted by the sign election.
pub const TIES_DISAGREES: u8 = 2;

/// The masks of one tensor, with counts over the whole tensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorMasks {
    pub tensor: String,
    pub shape: Vec<usize>,
    pub density: f64,
    pub seed: u64,
    /// The tensor as a matrix (rows × the product of the other axes).
    pub matrix: [usize; 2],
    /// The top-left part drawn.
    pub shown: [usize; 2],
    /// Elements whose elected sign is +.
    pub elected_positive: u64,
    pub ties: Vec<TiesCounts>,
    pub dare: Vec<DareCounts>,
    #[serde(skip)]
    pub images: MaskImages,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TiesCounts {
    pub model: String,
    /// Non-zero after the trim.
    pub kept: u64,
    pub agrees: u64,
    pub disagrees: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DareCounts {
    pub model: String,
    pub kept: u64,
}

/// Cells of the shown part, row-major: per expert a `TIES_*` code or a DARE keep bit (1/0),
/// and the elected sign (1 for +, 0 for −).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaskImages {
    pub ties: Vec<Vec<u8>>,
    pub elected: Vec<u8>,
    pub dare: Vec<Vec<u8>>,
}

/// The masks of `tensor` (shape `shape`) given each expert's task vector (expert − base).
pub fn tensor_masks(
    tensor: &str,
    shape: &[usize],
    models: &[String],
    task_vectors: &[Vec<f32>],
    density: f64,
    seed: u64,
) -> Result<TensorMasks> {
    let numel: usize = shape.iter().product();
    let matrix = as_matrix(shape);
    let shown = [matrix[0].min(MAX_SIDE), matrix[1].min(MAX_SIDE)];
    let shown_cells = |cells: &[u8]| -> Vec<u8> {
        (0..shown[0])
            .flat_map(|r| &cells[r * matrix[1]..r * matrix[1] + shown[1]])
            .copied()
            .collect()
    };

    let ties_recipe = recipe(MethodKind::Ties, tensor, shape, models.len(), density, seed);
    let trimmed = task_vectors
        .iter()
        .enumerate()
        .map(|(input, tv)| sparsified(&ties_recipe, input, tv.clone()))
        .collect::<Result<Vec<_>>>()?;
    let weights = ties_recipe.per_input_all(ParamName::Weight);
    let election = Consensus::of(MethodKind::Ties, ties_recipe.global(ParamName::Consensus));
    let mut elected = vec![0u8; numel];
    let mut ties_cells = vec![vec![TIES_DROPPED; numel]; models.len()];
    let mut weighted = vec![0f32; models.len()];
    for e in 0..numel {
        for ((w, t), &weight) in weighted.iter_mut().zip(&trimmed).zip(&weights) {
            *w = t[e] * weight;
        }
        let sign_elected = election.elect(&weighted);
        elected[e] = (sign_elected > 0.0) as u8;
        for (cells, &w) in ties_cells.iter_mut().zip(&weighted) {
            cells[e] = match sign(w) {
                0.0 => TIES_DROPPED,
                s if s == sign_elected => TIES_AGREES,
                _ => TIES_DISAGREES,
            };
        }
    }

    let dare_recipe = recipe(
        MethodKind::DareTies,
        tensor,
        shape,
        models.len(),
        density,
        seed,
    );
    let dare_cells = (0..models.len())
        .map(|input| {
            // The keep decision depends only on the element index: mask a vector of ones.
            let kept = sparsified(&dare_recipe, input, vec![1.0; numel])?;
            Ok(kept.iter().map(|&x| (x != 0.0) as u8).collect::<Vec<u8>>())
        })
        .collect::<Result<Vec<_>>>()?;

    let count = |cells: &[u8], code: u8| cells.iter().filter(|&&c| c == code).count() as u64;
    Ok(TensorMasks {
        tensor: tensor.to_string(),
        shape: shape.to_vec(),
        density,
        seed,
        matrix,
        shown,
        elected_positive: count(&elected, 1),
        ties: models
            .iter()
            .zip(&ties_cells)
            .map(|(model, cells)| {
                let (agrees, disagrees) = (count(cells, TIES_AGREES), count(cells, TIES_DISAGREES));
                TiesCounts {
                    model: model.clone(),
                    kept: agrees + disagrees,
                    agrees,
                    disagrees,
                }
            })
            .collect(),
        dare: models
            .iter()
            .zip(&dare_cells)
            .map(|(model, cells)| DareCounts {
                model: model.clone(),
                kept: count(cells, 1),
            })
            .collect(),
        images: MaskImages {
            ties: ties_cells.iter().map(|c| shown_cells(c)).collect(),
            elected: shown_cells(&elected),
            dare: dare_cells.iter().map(|c| shown_cells(c)).collect(),
        },
    })
}

/// The recipe of a `method` merge of `experts` experts onto a base: weight 1 and `density` each.
pub fn recipe(
    method: MethodKind,
    tensor: &str,
    shape: &[usize],
    experts: usize,
    density: f64,
    seed: u64,
) -> TensorRecipe {
    let per_model = BTreeMap::from([(ParamName::Weight, 1.0), (ParamName::Density, density)]);
    TensorRecipe {
        method,
        name: tensor.to_string(),
        shape: shape.to_vec(),
        has_base: true,
        global: method.global_defaults(),
        per_input: vec![per_model; experts],
        seed,
    }
}

/// One input's task vector after its sparsifier's statistics passes and masking.
fn sparsified(recipe: &TensorRecipe, input: usize, mut values: Vec<f32>) -> Result<Vec<f32>> {
    let kind = SparsifyKind::of(recipe.method).expect("a task-arithmetic method");
    let mut sparsifier = make_sparsifier(kind, recipe, input)?;
    let mut pass = 0;
    while pass < sparsifier.stat_passes() {
        sparsifier.observe(pass, 0, &values);
        sparsifier.finish_pass(pass);
        pass += 1;
    }
    sparsifier.apply(0, &mut values);
    Ok(values)
}

/// [rows, columns] of a tensor drawn as a matrix: a vector is one row.
fn as_matrix(shape: &[usize]) -> [usize; 2] {
    match shape {
        [] => [1, 1],
        [n] => [1, *n],
        [rows, rest @ ..] => [*rows, rest.iter().product()],
    }
}
