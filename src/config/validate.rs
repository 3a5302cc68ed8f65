//! Checks across the whole config: base model policy, arity, required parameters, mixup.

use super::layout::Input;
use super::params::is_total;
use super::spec::{Layout, Lookup, ModelRef, Parameters};
use super::yaml::{child, item};
use crate::error::{MergeError, Result};
use crate::merge::catalog::{BasePolicy, MethodKind, ParamName, Scope};

pub(super) fn check_base(method: MethodKind, base_given: bool) -> Result<()> {
    match (method.base_policy(), base_given) {
        (BasePolicy::Required, false) => Err(MergeError::config(
            "base_model",
            format!(
                "missing: merge method `{}` needs a `base_model`",
                method.key()
            ),
        )),
        _ => Ok(()),
    }
}

/// The number of merged models, per slice for `slices:`, against `method.arity()`.
pub(super) fn check_arity(method: MethodKind, layout: &Layout, inputs: &[Input]) -> Result<()> {
    let groups: Vec<(Option<usize>, String)> = match layout {
        Layout::Models { .. } => vec![(None, "models".to_string())],
        Layout::Slices(slices) => (0..slices.len())
            .map(|s| (Some(s), child(&item("slices", s), "sources")))
            .collect(),
    };
    let (lo, hi) = method.arity();
    for (slice, key) in groups {
        let n = inputs.iter().filter(|i| i.slice == slice).count();
        if n < lo || n > hi {
            let count = match (lo == hi, hi == usize::MAX) {
                (true, _) => format!("exactly {lo}"),
                (false, true) => format!("at least {lo}"),
                (false, false) => format!("between {lo} and {hi}"),
            };
            let noun = if lo == 1 && hi == 1 {
                "model"
            } else {
                "models"
            };
            let besides = if method.base_policy() == BasePolicy::Required {
                " besides the base model"
            } else {
                ""
            };
            let per_slice = if slice.is_some() {
                " in each slice"
            } else {
                ""
            };
            return Err(MergeError::config(
                key,
                format!(
                    "merge method `{}` merges {count} {noun}{besides}{per_slice}, but {n} {} given",
                    method.key(),
                    if n == 1 { "is" } else { "are" }
                ),
            ));
        }
    }
    Ok(())
}

/// Every required parameter has a value for every tensor: per-model ones for every merged model
/// (the base is waived), global ones for every slice. `mixup` supplies the weights itself.
pub(super) fn check_required(
    method: MethodKind,
    layout: &Layout,
    inputs: &[Input],
    params: &Parameters,
    models: &[ModelRef],
    mixup: bool,
) -> Result<()> {
    let required = method
        .params()
        .iter()
        .filter(|d| d.default.is_none())
        .filter(|d| !(mixup && d.name == ParamName::Weight));
    for decl in required {
        let name = decl.name;
        match decl.scope {
            Scope::PerModel => {
                for input in inputs {
                    let lookup = lookup(input.slice, Some(input.model));
                    if !covered(params, name, &lookup) {
                        return Err(MergeError::config(
                            child(&child(&input.key, "parameters"), name.key()),
                            format!(
                                "model `{}` has no `{}`, which merge method `{}` requires for \
                                 every merged model; set it here or in a `parameters` above{}",
                                models[input.model].reference,
                                name.key(),
                                method.key(),
                                partial_hint(params, name, &lookup)
                            ),
                        ));
                    }
                }
            }
            Scope::Global => {
                let slices: Vec<Option<usize>> = match layout {
                    Layout::Models { .. } => vec![None],
                    Layout::Slices(slices) => (0..slices.len()).map(Some).collect(),
                };
                for slice in slices {
                    let lookup = lookup(slice, None);
                    if !covered(params, name, &lookup) {
                        let key = match slice {
                            None => child("parameters", name.key()),
                            Some(s) => child(&child(&item("slices", s), "parameters"), name.key()),
                        };
                        return Err(MergeError::config(
                            key,
                            format!(
                                "missing: merge method `{}` requires `{}`{}",
                                method.key(),
                                name.key(),
                                partial_hint(params, name, &lookup)
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn lookup(slice: Option<usize>, model: Option<usize>) -> Lookup<'static> {
    Lookup {
        tensor: "",
        t: 0.0,
        model,
        slice,
    }
}

/// Some level gives `name` a value for every tensor.
fn covered(params: &Parameters, name: ParamName, lookup: &Lookup) -> bool {
    params
        .levels(lookup)
        .filter_map(|map| map.get(&name))
        .any(is_total)
}

fn partial_hint(params: &Parameters, name: ParamName, lookup: &Lookup) -> &'static str {
    if params.levels(lookup).any(|map| map.contains_key(&name)) {
        " (the filtered values given do not cover every tensor: add a last `- value: ...` \
         without `filter`)"
    } else {
        ""
    }
}

/// M³ mixup draws λ ~ Beta(α, α) and uses weights λ, 1−λ: it needs a weighted method and
/// exactly two merged models (in every slice).
pub(super) fn check_mixup(method: MethodKind, layout: &Layout, inputs: &[Input]) -> Result<()> {
    if !method.params().iter().any(|d| d.name == ParamName::Weight) {
        return Err(MergeError::config(
            "mixup",
            format!(
                "mixup draws the models' `weight`s, but merge method `{}` has no `weight`",
                method.key()
            ),
        ));
    }
    let counts: Vec<usize> = match layout {
        Layout::Models { inputs } => vec![inputs.len()],
        Layout::Slices(slices) => (0..slices.len())
            .map(|s| inputs.iter().filter(|i| i.slice == Some(s)).count())
            .collect(),
    };
    if let Some(n) = counts.into_iter().find(|&n| n != 2) {
        return Err(MergeError::config(
            "mixup",
            format!(
                "mixup interpolates exactly two merged models (weights λ and 1−λ), but {n} {} \
                 given",
                if n == 1 { "is" } else { "are" }
            ),
        ));
    }
    Ok(())
}
