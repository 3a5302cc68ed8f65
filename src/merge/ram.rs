//! `ram` (Reinforced Agent Merging): a task-vector element larger than `epsilon` in magnitude
//! that only one model contributes is kept whole; where several contribute they are averaged:
//! out = base + Σᵢ [|δᵢ| > ε]·δᵢ / max(1, #{i : |δᵢ| > ε}).

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, ParamDecl, ParamName, Scope,
    ANY_NUMBER, NON_NEGATIVE,
};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

pub static RAM: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Ram,
    key: "ram",
    base: BasePolicy::Required,
    merges_listed_base: false,
    arity: ANY_NUMBER,
    random: false,
    params: &RAM_PARAMS,
    cpu: |r| Ok(Box::new(Ram::new(r)?)),
    gpu: Some(GpuRoute::Ram),
    paper: None,
};
const RAM_PARAMS: [ParamDecl; 1] = [decl(
    ParamName::Epsilon,
    Scope::Global,
    NON_NEGATIVE,
    Some(1e-5),
)];

pub struct Ram {
    epsilon: f32,
}

impl Ram {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        if !recipe.has_base {
            return Err(MergeError::Unsupported(format!(
                "`ram` needs a base model (tensor `{}`)",
                recipe.name
            )));
        }
        Ok(Ram {
            epsilon: recipe.global(ParamName::Epsilon) as f32,
        })
    }
}

impl TensorMerge for Ram {
    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("ram needs a base model");
        for (e, (o, &b)) in out.iter_mut().zip(base).enumerate() {
            let mut count = 0u32;
            for x in chunk.inputs {
                count += ((x[e] - b).abs() > self.epsilon) as u32;
            }
            // Each kept delta is divided by the count before summing, as mergekit does.
            let divisor = count.max(1) as f32;
            let mut merged = 0f32;
            for x in chunk.inputs {
                let delta = x[e] - b;
                if delta.abs() > self.epsilon {
                    merged += if count == 1 { delta } else { delta / divisor };
                }
            }
            *o = b + merged;
        }
    }
}
