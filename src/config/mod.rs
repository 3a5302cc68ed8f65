//! mergekit YAML → validated [`MergeSpec`].

mod layout;
mod models;
mod param_values;
pub mod params;
pub mod spec;
mod validate;
pub(crate) mod yaml;

use std::path::Path;

use serde_yaml::Value;

use crate::dtype::DType;
use crate::error::{MergeError, Result};
use crate::merge::catalog::MethodKind;
use layout::Context;
use models::ModelTable;
use param_values::{parse_param_map, Level};
pub use params::evaluate;
pub use spec::*;

const TOP_KEYS: &[&str] = &[
    "merge_method",
    "base_model",
    "models",
    "slices",
    "parameters",
    "dtype",
    "out_dtype",
    "tokenizer_source",
    "mixup",
    "name",
];

const TOP_UNSUPPORTED: &[(&str, &str)] = &[
    ("modules", "per-module configuration (`modules`)"),
    ("tokenizer", "tokenizer merging (`tokenizer`)"),
    ("chat_template", "`chat_template`"),
];

/// What [`parse_config_with`] checks beyond the config itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Require every model path to exist (off where there is no file system, e.g. the browser).
    pub check_paths: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { check_paths: true }
    }
}

/// Parses and validates a mergekit YAML config; relative model paths resolve against `base_dir`.
pub fn parse_config(text: &str, base_dir: &Path) -> Result<MergeSpec> {
    parse_config_with(text, base_dir, &ParseOptions::default())
}

/// [`parse_config`] with explicit [`ParseOptions`].
pub fn parse_config_with(text: &str, base_dir: &Path, options: &ParseOptions) -> Result<MergeSpec> {
    let mut root: Value =
        serde_yaml::from_str(text).map_err(|e| MergeError::Yaml(e.to_string()))?;
    root.apply_merge()
        .map_err(|e| MergeError::Yaml(e.to_string()))?;
    let top = yaml::mapping(&root, "")?;
    yaml::check_keys(&top, "", TOP_KEYS, TOP_UNSUPPORTED)?;

    let method = parse_method(yaml::get_some(&top, "merge_method"))?;
    let mut table = ModelTable::new(base_dir, options.check_paths);
    let base = match yaml::get_some(&top, "base_model") {
        None => None,
        Some(v) => Some(table.intern(yaml::string(v, "base_model")?, "base_model")?),
    };
    validate::check_base(method, base.is_some())?;

    let mut params = Parameters {
        top: parse_param_map(
            yaml::get(&top, "parameters"),
            "parameters",
            method,
            Level::Top,
        )?,
        ..Parameters::default()
    };
    let mut cx = Context {
        method,
        base,
        table: &mut table,
        params: &mut params,
    };
    let (layout, inputs) = match (
        yaml::get_some(&top, "models"),
        yaml::get_some(&top, "slices"),
    ) {
        (Some(models), None) => layout::parse_models(models, &mut cx)?,
        (None, Some(slices)) => layout::parse_slices(slices, &mut cx)?,
        (Some(_), Some(_)) => {
            return Err(MergeError::config(
                "slices",
                "give either `models` or `slices`, not both",
            ))
        }
        (None, None) => {
            return Err(MergeError::config(
                "models",
                "missing: give `models` (a list of {model, parameters}) or `slices`",
            ))
        }
    };
    validate::check_arity(method, &layout, &inputs)?;

    let dtype = parse_dtype(yaml::get_some(&top, "dtype"), "dtype")?;
    let out_dtype = parse_dtype(yaml::get_some(&top, "out_dtype"), "out_dtype")?;
    let tokenizer_source =
        parse_tokenizer_source(yaml::get_some(&top, "tokenizer_source"), &mut table)?;
    let mixup = match yaml::get_some(&top, "mixup") {
        None => None,
        Some(v) => {
            let spec = parse_mixup(v)?;
            validate::check_mixup(method, &layout, &inputs)?;
            Some(spec)
        }
    };
    validate::check_required(
        method,
        &layout,
        &inputs,
        &params,
        &table.models,
        mixup.is_some(),
    )?;

    Ok(MergeSpec {
        method,
        models: table.models,
        base,
        layout,
        params,
        dtype,
        out_dtype,
        tokenizer_source,
        mixup,
        source_text: text.to_string(),
    })
}

fn parse_method(value: Option<&Value>) -> Result<MethodKind> {
    let known = || {
        MethodKind::all()
            .map(|m| m.key())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let value = value.ok_or_else(|| {
        MergeError::config("merge_method", format!("missing; one of: {}", known()))
    })?;
    let key = yaml::string(value, "merge_method")?;
    let method = MethodKind::from_key(key).ok_or_else(|| {
        MergeError::config(
            "merge_method",
            format!("unknown method `{key}`; known methods: {}", known()),
        )
    })?;
    Ok(method)
}

fn parse_dtype(value: Option<&Value>, key: &str) -> Result<Option<DType>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let name = yaml::string(value, key)?;
    DType::from_config_name(name).map(Some).ok_or_else(|| {
        MergeError::config(
            key,
            format!(
                "unknown dtype `{name}`; accepted: float32 (fp32, f32, float), float16 (fp16, \
                 f16, half), bfloat16 (bf16), float64 (fp64, f64)"
            ),
        )
    })
}

fn parse_tokenizer_source(
    value: Option<&Value>,
    table: &mut ModelTable,
) -> Result<TokenizerSource> {
    let Some(value) = value else {
        return Ok(TokenizerSource::Base);
    };
    match yaml::string(value, "tokenizer_source")? {
        "base" => Ok(TokenizerSource::Base),
        "union" => Err(MergeError::Unsupported(
            "config: tokenizer_source: `union` builds a new vocabulary from every model's \
             tokenizer, which mixmerge does not support; use `base` or a model"
                .to_string(),
        )),
        reference => table
            .intern(reference, "tokenizer_source")
            .map(TokenizerSource::Model),
    }
}

fn parse_mixup(value: &Value) -> Result<MixupSpec> {
    let entries = yaml::mapping(value, "mixup")?;
    yaml::check_keys(&entries, "mixup", &["alpha", "seed"], &[])?;
    let alpha_value = yaml::get_some(&entries, "alpha")
        .ok_or_else(|| MergeError::config("mixup.alpha", "missing (λ ~ Beta(alpha, alpha))"))?;
    let alpha = yaml::number(alpha_value, "mixup.alpha")?;
    if !(alpha > 0.0 && alpha.is_finite()) {
        return Err(MergeError::config(
            "mixup.alpha",
            format!("{alpha} is out of range: expected a finite number > 0"),
        ));
    }
    let seed = yaml::get_some(&entries, "seed")
        .map(|v| yaml::non_negative_integer(v, "mixup.seed"))
        .transpose()?;
    Ok(MixupSpec { alpha, seed })
}
