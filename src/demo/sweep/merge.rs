//! One merge of in-memory models with the project's own per-tensor kernels (`build_merger`):
//! the whole tensor is one chunk, statistics passes first, as the executors run them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::tensors::{HostTensor, TensorSet};
use crate::error::{MergeError, Result};
use crate::merge::catalog::{MethodKind, ParamName};
use crate::merge::{build_merger, Chunk, TensorRecipe};

/// A two-model merge method of the sweeps with its settings; weights come from the point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairMethod {
    #[serde(rename = "method")]
    pub kind: MethodKind,
    /// Share of each task vector kept (TIES, DARE); ignored by methods that do not declare it.
    pub density: f64,
    /// The task-arithmetic scale (`lambda` in mergekit) of task-arithmetic methods.
    pub scale: f64,
}

impl PairMethod {
    /// `kind` with the sweeps' defaults: density 0.5 where it applies, scale 1.
    pub fn new(kind: MethodKind) -> Self {
        PairMethod {
            kind,
            density: 0.5,
            scale: 1.0,
        }
    }

    /// The method named by `key` (`linear`, `ties`, …), which must take two models.
    pub fn parse(key: &str) -> Result<Self> {
        let kind = MethodKind::from_key(key.trim())
            .ok_or_else(|| MergeError::config("methods", format!("unknown method `{key}`")))?;
        let (min, max) = kind.arity();
        if min > 2 || max < 2 || kind == MethodKind::Passthrough {
            return Err(MergeError::config(
                "methods",
                format!("`{key}` does not merge a pair of models with weights"),
            ));
        }
        Ok(PairMethod::new(kind))
    }

    /// Every method of `keys`, with `density` and `scale`.
    pub fn parse_list(keys: &[String], density: f64, scale: f64) -> Result<Vec<Self>> {
        keys.iter()
            .map(|key| {
                let mut method = PairMethod::parse(key)?;
                method.density = density;
                method.scale = scale;
                Ok(method)
            })
            .collect()
    }

    fn declares(&self, name: ParamName) -> bool {
        self.kind.params().iter().any(|d| d.name == name)
    }

    fn per_input(&self, weight: f64) -> BTreeMap<ParamName, f64> {
        let mut params = BTreeMap::from([(ParamName::Weight, weight)]);
        if self.declares(ParamName::Density) {
            params.insert(ParamName::Density, self.density);
        }
        params
    }

    fn globals(&self) -> BTreeMap<ParamName, f64> {
        let mut globals = self.kind.global_defaults();
        if self.declares(ParamName::Lambda) {
            globals.insert(ParamName::Lambda, self.scale);
        }
        globals
    }
}

/// `method` over `inputs` with one weight each, against `base`.
pub fn merge_models(
    method: &PairMethod,
    base: &TensorSet,
    inputs: &[&TensorSet],
    weights: &[f64],
    seed: u64,
) -> Result<TensorSet> {
    let globals = method.globals();
    let per_input: Vec<_> = weights.iter().map(|&w| method.per_input(w)).collect();
    let mut tensors = BTreeMap::new();
    let first = inputs.first().expect("a merge has inputs");
    for (name, tensor) in &first.tensors {
        let recipe = TensorRecipe {
            method: method.kind,
            name: name.clone(),
            shape: tensor.shape.clone(),
            has_base: true,
            global: globals.clone(),
            per_input: per_input.clone(),
            seed,
        };
        let base_values = Some(base.matching(name, first)?.values.as_slice());
        let input_values = inputs
            .iter()
            .map(|m| m.matching(name, first).map(|t| t.values.as_slice()))
            .collect::<Result<Vec<_>>>()?;
        let values = merge_tensor(&recipe, base_values, &input_values)?;
        let shape = tensor.shape.clone();
        tensors.insert(name.clone(), HostTensor { shape, values });
    }
    Ok(TensorSet {
        name: method.kind.key().to_string(),
        tensors,
    })
}

/// One tensor through its kernel: every statistics pass over the whole tensor, then `apply`.
pub(crate) fn merge_tensor(
    recipe: &TensorRecipe,
    base: Option<&[f32]>,
    inputs: &[&[f32]],
) -> Result<Vec<f32>> {
    let mut merger = build_merger(recipe)?;
    let chunk = Chunk {
        start: 0,
        base,
        inputs,
    };
    let mut pass = 0;
    while pass < merger.stat_passes() {
        merger.observe(pass, &chunk);
        merger.finish_pass(pass);
        pass += 1;
    }
    let mut out = vec![0.0; chunk.len()];
    merger.apply(&chunk, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, values: &[f32]) -> TensorSet {
        let tensor = HostTensor {
            shape: vec![values.len()],
            values: values.to_vec(),
        };
        TensorSet {
            name: name.into(),
            tensors: BTreeMap::from([("w".to_string(), tensor)]),
        }
    }

    fn values(merged: &TensorSet) -> Vec<f32> {
        merged.tensors["w"].values.clone()
    }

    #[test]
    fn linear_weights_interpolate_and_ends_are_the_models() {
        let (base, a, b) = (
            set("base", &[0.0; 3]),
            set("a", &[1.0, 2.0, 3.0]),
            set("b", &[3.0, 2.0, -1.0]),
        );
        let linear = PairMethod::parse("linear").unwrap();
        let at =
            |l: f64| values(&merge_models(&linear, &base, &[&a, &b], &[1.0 - l, l], 0).unwrap());
        assert_eq!(at(0.0), [1.0, 2.0, 3.0]);
        assert_eq!(at(1.0), [3.0, 2.0, -1.0]);
        assert_eq!(at(0.25), [1.5, 2.0, 2.0]);
    }

    #[test]
    fn ties_keeps_the_largest_agreeing_deltas() {
        // density 0.5 keeps 2 of 4 deltas per model; the elected sign drops disagreeing ones.
        let base = set("base", &[0.0; 4]);
        let a = set("a", &[4.0, -3.0, 0.1, 0.2]);
        let b = set("b", &[2.0, 5.0, 0.1, 0.3]);
        let ties = PairMethod::parse("ties").unwrap();
        let merged = values(&merge_models(&ties, &base, &[&a, &b], &[1.0, 1.0], 0).unwrap());
        // Element 0: both keep it, mean 3; element 1: sum 2 > 0 elects b's 5 alone.
        assert_eq!(merged, [3.0, 5.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_method_and_shape_mismatch_are_named() {
        let err = PairMethod::parse("passthrough").unwrap_err().to_string();
        assert!(err.contains("passthrough"), "{err}");
        let err = PairMethod::parse("averaging").unwrap_err().to_string();
        assert!(err.contains("unknown method `averaging`"), "{err}");
        let (base, a) = (set("base", &[0.0; 2]), set("a", &[1.0, 2.0]));
        let b = set("b", &[1.0, 2.0, 3.0]);
        let linear = PairMethod::parse("linear").unwrap();
        let err = merge_models(&linear, &base, &[&a, &b], &[0.5, 0.5], 0).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`w`") && text.contains("b"), "{text}");
    }
}
