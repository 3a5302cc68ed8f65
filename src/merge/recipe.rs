//! A tensor's fully resolved merge: the method and every parameter as a number, per tensor and
//! per input. Plans build recipes; `build_merger` turns one into the method's kernel.

use std::collections::BTreeMap;

use super::catalog::{MethodKind, ParamName, Scope};
use super::TensorMerge;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct TensorRecipe {
    pub method: MethodKind,
    /// Output tensor name, for messages and the random stream key.
    pub name: String,
    pub shape: Vec<usize>,
    pub has_base: bool,
    /// Global parameters, every one the method declares (defaults filled in).
    pub global: BTreeMap<ParamName, f64>,
    /// Per-model parameters of each non-base input, in input order.
    pub per_input: Vec<BTreeMap<ParamName, f64>>,
    /// Seed of the merge's random streams.
    pub seed: u64,
}

impl TensorRecipe {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Length of the last axis (the whole tensor for 0-D and 1-D tensors).
    pub fn row_len(&self) -> usize {
        match self.shape.len() {
            0 | 1 => self.numel().max(1),
            _ => *self.shape.last().expect("non-empty shape"),
        }
    }

    pub fn global(&self, name: ParamName) -> f64 {
        self.global
            .get(&name)
            .copied()
            .unwrap_or_else(|| declared_default(self.method, name, Scope::Global))
    }

    pub fn flag(&self, name: ParamName) -> bool {
        self.global(name) != 0.0
    }

    pub fn per_input(&self, input: usize, name: ParamName) -> f64 {
        self.per_input
            .get(input)
            .and_then(|m| m.get(&name))
            .copied()
            .unwrap_or_else(|| declared_default(self.method, name, Scope::PerModel))
    }

    pub fn per_input_all(&self, name: ParamName) -> Vec<f32> {
        (0..self.per_input.len())
            .map(|i| self.per_input(i, name) as f32)
            .collect()
    }
}

fn declared_default(method: MethodKind, name: ParamName, scope: Scope) -> f64 {
    method
        .params()
        .iter()
        .find(|d| d.name == name && d.scope == scope)
        .and_then(|d| d.default)
        .unwrap_or(f64::NAN)
}

/// The kernel for one tensor.
pub fn build_merger(recipe: &TensorRecipe) -> Result<Box<dyn TensorMerge>> {
    (recipe.method.descriptor().cpu)(recipe)
}
