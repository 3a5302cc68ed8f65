//! `nearswap`: take the other model where it is close to the base:
//! w = clamp(t / max(|a − b|, 1e-6), 0, 1), out = w·b + (1 − w)·a with a = base, b = the model.

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, ParamDecl, ParamName, Scope,
    NON_NEGATIVE,
};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

pub static NEARSWAP: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Nearswap,
    key: "nearswap",
    base: BasePolicy::Required,
    merges_listed_base: false,
    arity: (1, 1),
    random: false,
    params: &NEARSWAP_PARAMS,
    cpu: |r| Ok(Box::new(Nearswap::new(r)?)),
    gpu: Some(GpuRoute::Nearswap),
    paper: None,
};
const NEARSWAP_PARAMS: [ParamDecl; 1] = [decl(ParamName::T, Scope::Global, NON_NEGATIVE, None)];

pub struct Nearswap {
    t: f32,
}

impl Nearswap {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        if !recipe.has_base || recipe.per_input.len() != 1 {
            return Err(MergeError::Unsupported(format!(
                "`nearswap` merges a base and exactly one other model (tensor `{}`)",
                recipe.name
            )));
        }
        Ok(Nearswap {
            t: recipe.global(ParamName::T) as f32,
        })
    }
}

impl TensorMerge for Nearswap {
    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("nearswap needs a base model");
        for ((o, &a), &b) in out.iter_mut().zip(base).zip(chunk.inputs[0]) {
            // torch evaluates the scalar `t / tensor` as reciprocal(tensor) · t.
            let w = ((a - b).abs().max(1e-6).recip() * self.t).clamp(0.0, 1.0);
            *o = w * b + (1.0 - w) * a;
        }
    }
}
