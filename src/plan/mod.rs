//! Spec + input headers → the list of output tensors and how each is made. Every name, shape,
//! dtype and arity check happens here, before any output byte exists.

mod layers;
mod recipes;

pub use layers::{layer_count, layer_of, layer_position, with_layer};

use crate::config::{Layout, MergeSpec, ModelId};
use crate::dtype::DType;
use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, OutputTensor, TensorSource};
use crate::merge::mixup::draw_lambda;
use crate::merge::TensorRecipe;

/// Where one input of an output tensor is read from.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRef {
    pub model: ModelId,
    pub tensor: String,
    pub dtype: DType,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTensor {
    pub output: OutputTensor,
    pub base: Option<InputRef>,
    pub inputs: Vec<InputRef>,
    pub recipe: TensorRecipe,
}

impl PlannedTensor {
    pub fn numel(&self) -> usize {
        self.output.shape.iter().product()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    pub tensors: Vec<PlannedTensor>,
    pub out_dtype: DType,
    /// Seed of the random streams (DARE, DELLA) and of the mixup draw.
    pub seed: u64,
    /// λ drawn by M³ mixup, when the config asks for it.
    pub mixup_lambda: Option<f64>,
    /// Output layer count when slices renumber layers.
    pub num_hidden_layers: Option<usize>,
    /// The model whose config.json and tokenizer the output inherits.
    pub reference_model: ModelId,
    pub warnings: Vec<String>,
}

impl MergePlan {
    pub fn output_tensors(&self) -> Vec<OutputTensor> {
        self.tensors.iter().map(|t| t.output.clone()).collect()
    }

    pub fn output_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.numel() as u64 * t.output.dtype.size() as u64)
            .sum()
    }

    /// Bytes read from the inputs (for throughput figures).
    pub fn input_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| {
                let element_bytes: usize =
                    t.inputs.iter().chain(&t.base).map(|i| i.dtype.size()).sum();
                (t.numel() * element_bytes) as u64
            })
            .sum()
    }
}

/// Plans a merge. `models` is indexed like `spec.models`; `seed` overrides the config's seeds.
pub fn plan_merge<S: TensorSource>(
    spec: &MergeSpec,
    models: &[Checkpoint<S>],
    seed: Option<u64>,
) -> Result<MergePlan> {
    assert_eq!(models.len(), spec.models.len(), "one checkpoint per model");
    let seed = seed
        .or_else(|| spec.mixup.and_then(|m| m.seed))
        .unwrap_or(0);
    let mixup_lambda = spec.mixup.map(|m| draw_lambda(m.alpha, seed));
    let mut planner = Planner {
        spec,
        models,
        seed,
        mixup_lambda,
        warnings: Vec::new(),
        tensors: Vec::new(),
    };
    let reference_model;
    let mut num_hidden_layers = None;
    match &spec.layout {
        Layout::Models { inputs } => {
            let (base, inputs) = planner.roles(inputs);
            reference_model = base.unwrap_or(inputs[0]);
            for name in &models[reference_model].order {
                let t = match layer_of(name) {
                    Some(layer) => {
                        layer_position(layer, layer_count(&models[reference_model].order))
                    }
                    None => 0.0,
                };
                planner.add(name, name, t, None, base, &inputs)?;
            }
        }
        Layout::Slices(slices) => {
            let first = &slices[0].sources;
            reference_model = spec
                .base
                .filter(|b| first.iter().any(|s| s.model == *b))
                .unwrap_or(first[0].model);
            num_hidden_layers = Some(planner.plan_slices()?);
        }
    }
    let out_dtype = spec
        .out_dtype
        .or(spec.dtype)
        .or_else(|| {
            planner
                .tensors
                .first()
                .map(|t| t.base.as_ref().unwrap_or(&t.inputs[0]).dtype)
        })
        .unwrap_or(DType::BF16);
    let mut tensors = planner.tensors;
    for t in &mut tensors {
        t.output.dtype = out_dtype;
    }
    if tensors.is_empty() {
        return Err(MergeError::Unsupported(
            "the merge would produce no tensors".into(),
        ));
    }
    Ok(MergePlan {
        tensors,
        out_dtype,
        seed,
        mixup_lambda,
        num_hidden_layers,
        reference_model,
        warnings: planner.warnings,
    })
}

struct Planner<'a, S> {
    spec: &'a MergeSpec,
    models: &'a [Checkpoint<S>],
    seed: u64,
    mixup_lambda: Option<f64>,
    warnings: Vec<String>,
    tensors: Vec<PlannedTensor>,
}

impl<S: TensorSource> Planner<'_, S> {
    /// Splits models into (base, merged inputs) for the method: methods without a special base
    /// merge every listed model, base included.
    fn roles(&self, candidates: &[ModelId]) -> (Option<ModelId>, Vec<ModelId>) {
        if self.spec.method.merges_listed_base() {
            return (None, candidates.to_vec());
        }
        let merged = candidates.iter().copied();
        (
            self.spec.base,
            merged.filter(|m| Some(*m) != self.spec.base).collect(),
        )
    }

    fn plan_slices(&mut self) -> Result<usize> {
        let Layout::Slices(slices) = &self.spec.layout else {
            unreachable!("called for slices only")
        };
        let slices = slices.clone();
        let mut roles: Vec<(Option<ModelId>, Vec<ModelId>)> = Vec::new();
        for (index, slice) in slices.iter().enumerate() {
            let models: Vec<ModelId> = slice.sources.iter().map(|src| src.model).collect();
            let (base, inputs) = self.roles(&models);
            if let Some(b) = base.filter(|b| !models.contains(b)) {
                return Err(MergeError::config(
                    format!("slices[{index}].sources"),
                    format!(
                        "merge method `{}` needs the base model {} among each slice's sources",
                        self.spec.method.key(),
                        self.spec.models[b].reference
                    ),
                ));
            }
            if inputs.is_empty() {
                return Err(MergeError::config(
                    format!("slices[{index}].sources"),
                    "the slice has no model to merge besides the base",
                ));
            }
            roles.push((base, inputs));
        }
        let reference_of =
            |slice: usize| -> ModelId { roles[slice].0.unwrap_or(roles[slice].1[0]) };
        let outside = |model: ModelId| -> Vec<String> {
            self.models[model]
                .order
                .iter()
                .filter(|n| layer_of(n).is_none())
                .cloned()
                .collect()
        };
        let first_ref = reference_of(0);
        for name in outside(first_ref)
            .iter()
            .filter(|n| layers::is_pre_layer(n))
        {
            let (base, inputs) = roles[0].clone();
            self.add(name, name, 0.0, Some(0), base, &inputs)?;
        }
        let mut out_layer = 0;
        for (index, slice) in slices.iter().enumerate() {
            let reference = reference_of(index);
            let (base, inputs) = roles[index].clone();
            let (start, end) = slice.sources[0].layer_range;
            let count = end - start;
            let start_of = |model: ModelId| -> usize {
                slice
                    .sources
                    .iter()
                    .find(|s| s.model == model)
                    .map(|s| s.layer_range.0)
                    .expect("model is a source of this slice")
            };
            let reference_start = start_of(reference);
            let available = layer_count(&self.models[reference].order);
            for offset in 0..count {
                let source_layer = reference_start + offset;
                if source_layer >= available {
                    return Err(MergeError::config(
                        format!("slices[{index}].sources.layer_range"),
                        format!(
                            "layer {source_layer} does not exist in {} ({available} layers)",
                            self.spec.models[reference].reference
                        ),
                    ));
                }
                let names: Vec<String> = self.models[reference]
                    .order
                    .iter()
                    .filter(|n| layer_of(n) == Some(source_layer))
                    .cloned()
                    .collect();
                let t = layer_position(offset, count);
                for name in names {
                    let output = with_layer(&name, out_layer);
                    let base_name = base.map(|b| with_layer(&name, start_of(b) + offset));
                    self.add_mapped(&output, t, Some(index), base, base_name, &inputs, |m| {
                        with_layer(&name, start_of(m) + offset)
                    })?;
                }
                out_layer += 1;
            }
        }
        let last = slices.len() - 1;
        for name in outside(reference_of(last))
            .iter()
            .filter(|n| !layers::is_pre_layer(n))
        {
            let (base, inputs) = roles[last].clone();
            self.add(name, name, 0.0, Some(last), base, &inputs)?;
        }
        Ok(out_layer)
    }

    fn add(
        &mut self,
        output: &str,
        source: &str,
        t: f64,
        slice: Option<usize>,
        base: Option<ModelId>,
        inputs: &[ModelId],
    ) -> Result<()> {
        self.add_mapped(
            output,
            t,
            slice,
            base,
            base.map(|_| source.to_string()),
            inputs,
            |_| source.to_string(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn add_mapped(
        &mut self,
        output: &str,
        t: f64,
        slice: Option<usize>,
        base: Option<ModelId>,
        base_name: Option<String>,
        inputs: &[ModelId],
        name_in: impl Fn(ModelId) -> String,
    ) -> Result<()> {
        let mut refs: Vec<(ModelId, String)> = Vec::new();
        if let (Some(b), Some(name)) = (base, base_name) {
            refs.push((b, name));
        }
        refs.extend(inputs.iter().map(|&m| (m, name_in(m))));
        let shape = self.common_shape(output, &refs)?;
        let input_ref = |(model, tensor): &(ModelId, String)| InputRef {
            model: *model,
            dtype: self.models[*model]
                .get(tensor)
                .expect("checked by common_shape")
                .info
                .dtype,
            tensor: tensor.clone(),
        };
        let base_ref = base.map(|_| input_ref(&refs[0]));
        let input_refs: Vec<InputRef> = refs[base.is_some() as usize..]
            .iter()
            .map(input_ref)
            .collect();
        let recipe = recipes::resolve(
            self.spec,
            output,
            &shape,
            t,
            slice,
            base.is_some(),
            inputs,
            self.seed,
            self.mixup_lambda,
        );
        self.tensors.push(PlannedTensor {
            output: OutputTensor {
                name: output.to_string(),
                dtype: DType::F32,
                shape,
            },
            base: base_ref,
            inputs: input_refs,
            recipe,
        });
        Ok(())
    }

    /// The shape every input agrees on; vocabulary-sized tensors are cut to their common rows.
    fn common_shape(&mut self, output: &str, refs: &[(ModelId, String)]) -> Result<Vec<usize>> {
        let mut shape: Option<Vec<usize>> = None;
        let mut cut = false;
        for (model, tensor) in refs {
            let model_name = &self.spec.models[*model].reference;
            let location =
                self.models[*model]
                    .get(tensor)
                    .ok_or_else(|| MergeError::MissingTensor {
                        tensor: tensor.clone(),
                        model: model_name.clone(),
                    })?;
            let this = &location.info.shape;
            match &mut shape {
                None => shape = Some(this.clone()),
                Some(s) if s == this => {}
                Some(s)
                    if layers::is_vocab_sized(output)
                        && s.len() == this.len()
                        && !s.is_empty()
                        && s[1..] == this[1..] =>
                {
                    s[0] = s[0].min(this[0]);
                    cut = true;
                }
                Some(s) => {
                    return Err(MergeError::Mismatch {
                        tensor: tensor.clone(),
                        model: model_name.clone(),
                        reason: format!("shape {this:?} differs from {s:?} in the other inputs"),
                    })
                }
            }
        }
        let shape = shape.expect("at least one input");
        if cut {
            self.warnings.push(format!(
                "`{output}`: inputs differ in vocabulary size; using the first {} rows they share",
                shape[0]
            ));
        }
        Ok(shape)
    }
}
