//! Resolving every declared parameter of the method for one output tensor.

use std::collections::BTreeMap;

use crate::config::{Lookup, MergeSpec, ModelId};
use crate::merge::catalog::{ParamName, Scope};
use crate::merge::TensorRecipe;

#[allow(clippy::too_many_arguments)]
pub fn resolve(
    spec: &MergeSpec,
    tensor: &str,
    shape: &[usize],
    t: f64,
    slice: Option<usize>,
    has_base: bool,
    inputs: &[ModelId],
    seed: u64,
    mixup_lambda: Option<f64>,
) -> TensorRecipe {
    let declared = spec.method.params();
    let lookup = |model: Option<ModelId>| Lookup {
        tensor,
        t,
        model,
        slice,
    };
    let global: BTreeMap<ParamName, f64> = declared
        .iter()
        .filter(|d| d.scope == Scope::Global)
        .map(|d| (d.name, spec.param(d.name, &lookup(None))))
        .collect();
    let mut per_input: Vec<BTreeMap<ParamName, f64>> = inputs
        .iter()
        .map(|&model| {
            declared
                .iter()
                .filter(|d| d.scope == Scope::PerModel)
                .map(|d| (d.name, spec.param(d.name, &lookup(Some(model)))))
                .collect()
        })
        .collect();
    if let Some(lambda) = mixup_lambda {
        // M³: the two weights become λ and 1 − λ.
        for (params, weight) in per_input.iter_mut().zip([lambda, 1.0 - lambda]) {
            params.insert(ParamName::Weight, weight);
        }
    }
    TensorRecipe {
        method: spec.method,
        name: tensor.to_string(),
        shape: shape.to_vec(),
        has_base,
        global,
        per_input,
        seed,
    }
}
