//! Walking a `serde_yaml::Value` with key paths, so every error names the key it concerns
//! (serde's derive errors do not).

use serde_yaml::Value;

use crate::error::{MergeError, Result};

/// `models[1]` + `parameters` → `models[1].parameters`.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `slices` + 2 → `slices[2]`.
pub(crate) fn item(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.to_string()
    }
}

pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

pub(crate) fn wrong_type(path: &str, expected: &str, value: &Value) -> MergeError {
    MergeError::config(
        shown(path),
        format!("expected {expected}, found {}", found(value)),
    )
}

/// A value for messages: scalars verbatim, containers by kind.
fn found(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => describe(other).to_string(),
    }
}

/// A mapping with string keys, as `(key, value)` pairs in document order.
pub(crate) fn mapping<'a>(value: &'a Value, path: &str) -> Result<Vec<(&'a str, &'a Value)>> {
    let Value::Mapping(map) = value else {
        return Err(wrong_type(path, "a mapping", value));
    };
    map.iter()
        .map(|(k, v)| match k {
            Value::String(s) => Ok((s.as_str(), v)),
            other => Err(MergeError::config(
                shown(path),
                format!("keys must be strings, found {}", describe(other)),
            )),
        })
        .collect()
}

/// Like [`mapping`], but a missing (`null`) value is an empty mapping (`parameters:` left empty).
pub(crate) fn optional_mapping<'a>(
    value: Option<&'a Value>,
    path: &str,
) -> Result<Vec<(&'a str, &'a Value)>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => mapping(v, path),
    }
}

/// Rejects keys outside `allowed`; `unsupported` lists keys mergekit knows that mixmerge does not
/// implement, with what they are.
pub(crate) fn check_keys(
    entries: &[(&str, &Value)],
    path: &str,
    allowed: &[&str],
    unsupported: &[(&str, &str)],
) -> Result<()> {
    for (key, _) in entries {
        if allowed.contains(key) {
            continue;
        }
        let key_path = child(path, key);
        if let Some((_, what)) = unsupported.iter().find(|(k, _)| k == key) {
            return Err(MergeError::Unsupported(format!(
                "config: {key_path}: {what} is a mergekit feature mixmerge does not support"
            )));
        }
        return Err(MergeError::config(
            key_path,
            format!("unknown key; allowed here: {}", allowed.join(", ")),
        ));
    }
    Ok(())
}

pub(crate) fn get<'a>(entries: &[(&str, &'a Value)], key: &str) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// `get`, treating an explicit `null` as absent.
pub(crate) fn get_some<'a>(entries: &[(&str, &'a Value)], key: &str) -> Option<&'a Value> {
    get(entries, key).filter(|v| !v.is_null())
}

pub(crate) fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(path, "a string", value))
}

pub(crate) fn sequence<'a>(value: &'a Value, path: &str) -> Result<&'a [Value]> {
    value
        .as_sequence()
        .map(Vec::as_slice)
        .ok_or_else(|| wrong_type(path, "a list", value))
}

/// An int or float, finite or ±infinity, never NaN.
pub(crate) fn number(value: &Value, path: &str) -> Result<f64> {
    match value.as_f64() {
        Some(x) if !x.is_nan() => Ok(x),
        Some(_) => Err(MergeError::config(shown(path), "NaN is not a valid value")),
        None => Err(wrong_type(path, "a number", value)),
    }
}

pub(crate) fn non_negative_integer(value: &Value, path: &str) -> Result<u64> {
    value
        .as_u64()
        .ok_or_else(|| wrong_type(path, "a non-negative integer", value))
}
