//! `models:` / `slices:` → [`Layout`], with the parameters written at each entry.

use serde_yaml::Value;

use super::models::ModelTable;
use super::param_values::{parse_param_map, Level};
use super::spec::{Layout, ModelId, Parameters, SliceSource, SliceSpec};
use super::yaml::{self, child, item};
use crate::error::{MergeError, Result};
use crate::merge::catalog::{BasePolicy, MethodKind};

/// One model merged into the output, and where the config lists it (for messages).
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub slice: Option<usize>,
    pub model: ModelId,
    /// `models[2]` or `slices[0].sources[1]`.
    pub key: String,
}

/// What the layout parsers share.
pub(super) struct Context<'t, 'p> {
    pub method: MethodKind,
    pub base: Option<ModelId>,
    pub table: &'t mut ModelTable<'p>,
    pub params: &'t mut Parameters,
}

impl Context<'_, '_> {
    /// Whether `model` is merged rather than used as the base. Methods that must have a base
    /// merge around it; `linear` and `passthrough` never treat the base specially, so a base they
    /// list is weighted (linear) or copied (passthrough) like any other model, as in mergekit.
    fn is_input(&self, model: ModelId) -> bool {
        Some(model) != self.base || self.method.merges_listed_base()
    }

    fn model_at(&mut self, entries: &[(&str, &Value)], path: &str) -> Result<ModelId> {
        let key = child(path, "model");
        let value = yaml::get_some(entries, "model")
            .ok_or_else(|| MergeError::config(&key, "missing model reference"))?;
        self.table.intern(yaml::string(value, &key)?, &key)
    }
}

/// `models: [{model, parameters}, ...]`.
pub(super) fn parse_models(value: &Value, cx: &mut Context) -> Result<(Layout, Vec<Input>)> {
    let mut inputs = Vec::new();
    let mut seen = Vec::new();
    for (i, entry) in yaml::sequence(value, "models")?.iter().enumerate() {
        let path = item("models", i);
        let entries = yaml::mapping(entry, &path)?;
        yaml::check_keys(&entries, &path, &["model", "parameters"], &[])?;
        let model = cx.model_at(&entries, &path)?;
        if seen.contains(&model) {
            return Err(MergeError::config(
                child(&path, "model"),
                "this model is already listed; list each model once",
            ));
        }
        seen.push(model);
        let params_path = child(&path, "parameters");
        let map = parse_param_map(
            yaml::get(&entries, "parameters"),
            &params_path,
            cx.method,
            Level::Model,
        )?;
        cx.params.per_model.insert(model, map);
        if cx.is_input(model) {
            inputs.push(Input {
                slice: None,
                model,
                key: path,
            });
        }
    }
    let layout = Layout::Models {
        inputs: inputs.iter().map(|i| i.model).collect(),
    };
    Ok((layout, inputs))
}

/// `slices: [{sources: [{model, layer_range, parameters}, ...], parameters}, ...]`.
pub(super) fn parse_slices(value: &Value, cx: &mut Context) -> Result<(Layout, Vec<Input>)> {
    let mut slices = Vec::new();
    let mut inputs = Vec::new();
    let list = yaml::sequence(value, "slices")?;
    if list.is_empty() {
        return Err(MergeError::config("slices", "empty list"));
    }
    for (s, entry) in list.iter().enumerate() {
        let path = item("slices", s);
        let entries = yaml::mapping(entry, &path)?;
        yaml::check_keys(
            &entries,
            &path,
            &["sources", "parameters"],
            &[
                ("base_model", "a per-slice `base_model`"),
                ("residual_weight", "`residual_weight`"),
            ],
        )?;
        let map = parse_param_map(
            yaml::get(&entries, "parameters"),
            &child(&path, "parameters"),
            cx.method,
            Level::Slice,
        )?;
        cx.params.per_slice.push(map);
        cx.params.per_source.push(Default::default());
        let sources_path = child(&path, "sources");
        let sources_value = yaml::get_some(&entries, "sources")
            .ok_or_else(|| MergeError::config(&sources_path, "missing list of sources"))?;
        let sources = parse_sources(sources_value, &sources_path, s, cx, &mut inputs)?;
        if cx.method.base_policy() == BasePolicy::Required {
            if let Some(base) = cx.base {
                if !sources.iter().any(|src| src.model == base) {
                    return Err(MergeError::config(
                        sources_path,
                        format!(
                            "merge method `{}` merges around the base model; list `{}` among \
                             this slice's sources",
                            cx.method.key(),
                            cx.table.models[base].reference
                        ),
                    ));
                }
            }
        }
        slices.push(SliceSpec { sources });
    }
    Ok((Layout::Slices(slices), inputs))
}

fn parse_sources(
    value: &Value,
    path: &str,
    slice: usize,
    cx: &mut Context,
    inputs: &mut Vec<Input>,
) -> Result<Vec<SliceSource>> {
    let list = yaml::sequence(value, path)?;
    if list.is_empty() {
        return Err(MergeError::config(path, "empty list"));
    }
    let mut sources: Vec<SliceSource> = Vec::new();
    for (j, entry) in list.iter().enumerate() {
        let src_path = item(path, j);
        let entries = yaml::mapping(entry, &src_path)?;
        yaml::check_keys(
            &entries,
            &src_path,
            &["model", "layer_range", "parameters"],
            &[],
        )?;
        let model = cx.model_at(&entries, &src_path)?;
        if sources.iter().any(|other| other.model == model) {
            return Err(MergeError::config(
                child(&src_path, "model"),
                "this model is already a source of this slice",
            ));
        }
        let range_path = child(&src_path, "layer_range");
        let range_value = yaml::get_some(&entries, "layer_range")
            .ok_or_else(|| MergeError::config(&range_path, "missing [start, end]"))?;
        let layer_range = parse_layer_range(range_value, &range_path)?;
        if let Some(first) = sources.first() {
            let (len, first_len) = (
                layer_range.1 - layer_range.0,
                first.layer_range.1 - first.layer_range.0,
            );
            if len != first_len {
                return Err(MergeError::config(
                    range_path,
                    format!(
                        "covers {len} layers but {path}[0] covers {first_len}; every source of a \
                         slice must cover the same number of layers"
                    ),
                ));
            }
        }
        let map = parse_param_map(
            yaml::get(&entries, "parameters"),
            &child(&src_path, "parameters"),
            cx.method,
            Level::Source,
        )?;
        cx.params.per_source[slice].insert(model, map);
        if cx.is_input(model) {
            inputs.push(Input {
                slice: Some(slice),
                model,
                key: src_path,
            });
        }
        sources.push(SliceSource { model, layer_range });
    }
    Ok(sources)
}

/// `[start, end]`, half-open, `start < end`.
fn parse_layer_range(value: &Value, path: &str) -> Result<(usize, usize)> {
    let bounds = yaml::sequence(value, path)?;
    let [start, end] = bounds else {
        return Err(MergeError::config(
            path,
            format!(
                "expected [start, end] (two layer indices), found a list of {}",
                bounds.len()
            ),
        ));
    };
    let index = |v: &Value, i: usize| -> Result<usize> {
        let n = yaml::non_negative_integer(v, &item(path, i))?;
        usize::try_from(n).map_err(|_| MergeError::config(item(path, i), "too large"))
    };
    let (start, end) = (index(start, 0)?, index(end, 1)?);
    if start >= end {
        return Err(MergeError::config(
            path,
            format!("[{start}, {end}] is empty: the range is half-open and needs start < end"),
        ));
    }
    Ok((start, end))
}
