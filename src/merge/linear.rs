//! `linear`: Σ wᵢ·xᵢ / Σ wᵢ (the division only with `normalize`), accumulated in input order.

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, Paper, ParamDecl, ParamKind,
    ParamName, Scope, ANY_NUMBER, WEIGHT_REQUIRED,
};
use super::{Chunk, TensorMerge, TensorRecipe};

pub static LINEAR: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Linear,
    key: "linear",
    base: BasePolicy::Optional,
    merges_listed_base: true,
    arity: ANY_NUMBER,
    random: false,
    params: &LINEAR_PARAMS,
    cpu: |r| Ok(Box::new(Linear::new(r))),
    gpu: Some(GpuRoute::Linear),
    paper: Some(Paper {
        name: "Model Soups",
        url: "https://arxiv.org/abs/2203.05482",
    }),
};
const LINEAR_PARAMS: [ParamDecl; 2] = [
    WEIGHT_REQUIRED,
    decl(
        ParamName::Normalize,
        Scope::Global,
        ParamKind::Flag,
        Some(1.0),
    ),
];

pub struct Linear {
    weights: Vec<f32>,
    /// 1 / Σ w, or 1 without normalisation.
    divisor: f32,
}

impl Linear {
    pub fn new(recipe: &TensorRecipe) -> Self {
        let weights = recipe.per_input_all(ParamName::Weight);
        let total: f64 = weights.iter().map(|&w| w as f64).sum();
        let divisor = if recipe.flag(ParamName::Normalize) && total != 0.0 {
            total as f32
        } else {
            1.0
        };
        Linear { weights, divisor }
    }
}

impl TensorMerge for Linear {
    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        out.fill(0.0);
        for (input, &w) in chunk.inputs.iter().zip(&self.weights) {
            for (o, &x) in out.iter_mut().zip(input.iter()) {
                *o += x * w;
            }
        }
        if self.divisor != 1.0 {
            for o in out.iter_mut() {
                *o /= self.divisor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::catalog::MethodKind;
    use std::collections::BTreeMap;

    fn recipe(weights: &[f64], normalize: bool) -> TensorRecipe {
        TensorRecipe {
            method: MethodKind::Linear,
            name: "w".into(),
            shape: vec![3],
            has_base: false,
            global: BTreeMap::from([(ParamName::Normalize, normalize as u8 as f64)]),
            per_input: weights
                .iter()
                .map(|&w| BTreeMap::from([(ParamName::Weight, w)]))
                .collect(),
            seed: 0,
        }
    }

    fn run(recipe: &TensorRecipe, inputs: &[&[f32]]) -> Vec<f32> {
        let mut out = vec![0.0; inputs[0].len()];
        let chunk = Chunk {
            start: 0,
            base: None,
            inputs,
        };
        Linear::new(recipe).apply(&chunk, &mut out);
        out
    }

    #[test]
    fn weighted_mean_by_hand() {
        let a = [1.0, 2.0, -4.0];
        let b = [3.0, 0.0, 4.0];
        // (1·a + 3·b) / 4
        assert_eq!(run(&recipe(&[1.0, 3.0], true), &[&a, &b]), [2.5, 0.5, 2.0]);
        assert_eq!(
            run(&recipe(&[1.0, 3.0], false), &[&a, &b]),
            [10.0, 2.0, 8.0]
        );
    }

    #[test]
    fn weights_one_zero_return_the_first_model_exactly() {
        let a = [1.0e-30, -7.25, 3.3e7];
        let b = [9.0, 9.0, 9.0];
        let out = run(&recipe(&[1.0, 0.0], true), &[&a, &b]);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&out), bits(&a));
    }
}
