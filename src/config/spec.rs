//! The validated, typed form of a merge config. Nothing past the parser sees YAML or strings
//! other than paths, tensor-name filters and the original text (kept for the model card).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::dtype::DType;
use crate::merge::catalog::{MethodKind, ParamName};

/// Index into `MergeSpec::models`.
pub type ModelId = usize;

#[derive(Debug, Clone, PartialEq)]
pub struct MergeSpec {
    pub method: MethodKind,
    /// Every distinct model the config names, in order of first appearance (base first if given).
    pub models: Vec<ModelRef>,
    pub base: Option<ModelId>,
    pub layout: Layout,
    pub params: Parameters,
    /// Working dtype requested by `dtype:` (mixmerge always computes in f32; see README).
    pub dtype: Option<DType>,
    /// `out_dtype:`; falls back to `dtype`, then to the base (or first) model's dtype.
    pub out_dtype: Option<DType>,
    pub tokenizer_source: TokenizerSource,
    pub mixup: Option<MixupSpec>,
    /// The config as the user wrote it, for the model card.
    pub source_text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelRef {
    /// As written in the config, for messages.
    pub reference: String,
    /// Resolved against the config file's folder.
    pub path: PathBuf,
    /// The hub model the reference names when no local path of that name exists (natively,
    /// where paths are checked): found in the cache or streamed when the model is opened.
    pub hub: Option<crate::io::HubModel>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// `models:` — every tensor of the base (or first) model, merged across `inputs`
    /// (the merged models, in config order: the non-base ones, plus for `linear` and
    /// `passthrough` a base that is also listed under `models:`, as mergekit weights it too).
    Models { inputs: Vec<ModelId> },
    /// `slices:` — a frankenmerge; output layers are the slices' layers, renumbered.
    Slices(Vec<SliceSpec>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SliceSpec {
    /// All sources of one slice cover the same number of layers.
    pub sources: Vec<SliceSource>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SliceSource {
    pub model: ModelId,
    /// Half-open `[start, end)`.
    pub layer_range: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenizerSource {
    /// Copy tokenizer files from the base model (or the first model without a base).
    Base,
    Model(ModelId),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixupSpec {
    /// λ ~ Beta(alpha, alpha); alpha > 0.
    pub alpha: f64,
    /// Overridden by `--seed`; when both are absent the merge seed is used.
    pub seed: Option<u64>,
}

/// A parameter as written: a number (flags and words are encoded as numbers, see
/// `catalog::encoded`), a gradient over layers, or conditions filtered by tensor name.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Scalar(f64),
    Gradient(Vec<f64>),
    Conditional(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Substring of the tensor name; `None` matches every tensor.
    pub filter: Option<String>,
    pub value: ParamValue,
}

pub type ParamMap = BTreeMap<ParamName, ParamValue>;

/// Parameters at every level mergekit allows, searched in its precedence order:
/// slice source → slice → model → top level.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters {
    pub top: ParamMap,
    pub per_model: BTreeMap<ModelId, ParamMap>,
    /// Indexed like `Layout::Slices`.
    pub per_slice: Vec<ParamMap>,
    /// `[slice]` → the parameters of that slice's source for each model.
    pub per_source: Vec<BTreeMap<ModelId, ParamMap>>,
}

/// What a parameter is looked up for.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    pub tensor: &'a str,
    /// Position in `[0, 1]` of the tensor's layer within its slice; 0 outside the layers.
    pub t: f64,
    /// `None` for global parameters.
    pub model: Option<ModelId>,
    /// The slice the output tensor comes from (`Layout::Slices` only).
    pub slice: Option<usize>,
}
