//! `passthrough`: the single input unchanged (times `scale`); with `slices` it builds frankenmerges.

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, ParamDecl, ParamName, Scope, ANY,
};
use super::{Chunk, TensorMerge, TensorRecipe};

pub static PASSTHROUGH: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Passthrough,
    key: "passthrough",
    base: BasePolicy::Optional,
    merges_listed_base: true,
    arity: (1, 1),
    random: false,
    params: &PASSTHROUGH_PARAMS,
    cpu: |r| Ok(Box::new(Passthrough::new(r))),
    gpu: Some(GpuRoute::Passthrough),
    paper: None,
};
const PASSTHROUGH_PARAMS: [ParamDecl; 1] = [decl(ParamName::Scale, Scope::Global, ANY, Some(1.0))];

pub struct Passthrough {
    scale: f32,
}

impl Passthrough {
    pub fn new(recipe: &TensorRecipe) -> Self {
        Passthrough {
            scale: recipe.global(ParamName::Scale) as f32,
        }
    }
}

impl TensorMerge for Passthrough {
    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let input = chunk.inputs.first().copied().or(chunk.base).unwrap_or(&[]);
        if self.scale == 1.0 {
            out.copy_from_slice(input);
        } else {
            for (o, &x) in out.iter_mut().zip(input) {
                *o = x * self.scale;
            }
        }
    }
}
