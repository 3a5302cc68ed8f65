//! `parameters:` mappings → typed [`ParamMap`]s, checked against the method's declarations.

use serde_yaml::Value;

use super::spec::{Condition, ParamMap, ParamValue};
use super::yaml::{self, child, item};
use crate::error::{MergeError, Result};
use crate::merge::catalog::{encoded, MethodKind, ParamDecl, ParamKind, ParamName, Scope};

/// Where a `parameters:` mapping sits; per-model levels only take per-model parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Top,
    Slice,
    Model,
    Source,
}

/// Parses the `parameters` value at `path` (absent or null → empty).
pub(super) fn parse_param_map(
    value: Option<&Value>,
    path: &str,
    method: MethodKind,
    level: Level,
) -> Result<ParamMap> {
    let decls = method.params();
    let mut map = ParamMap::new();
    for (key, v) in yaml::optional_mapping(value, path)? {
        let key_path = child(path, key);
        let decl = ParamName::from_key(key)
            .and_then(|name| decls.iter().find(|d| d.name == name))
            .ok_or_else(|| unknown_param(&key_path, method, decls))?;
        if decl.scope == Scope::Global && matches!(level, Level::Model | Level::Source) {
            return Err(MergeError::config(
                key_path,
                format!(
                    "`{key}` is a global parameter of `{}`, not a per-model one (mergekit would \
                     silently ignore it here); set it under the top-level or slice `parameters`",
                    method.key()
                ),
            ));
        }
        if v.is_null() {
            continue; // mergekit: null means "not set here", the next level decides
        }
        map.insert(decl.name, parse_value(v, &key_path, decl)?);
    }
    Ok(map)
}

fn unknown_param(key_path: &str, method: MethodKind, decls: &[ParamDecl]) -> MergeError {
    let reason = if decls.is_empty() {
        format!("merge method `{}` takes no parameters", method.key())
    } else {
        let names: Vec<&str> = decls.iter().map(|d| d.name.key()).collect();
        format!(
            "not a parameter of merge method `{}`; its parameters are: {}",
            method.key(),
            names.join(", ")
        )
    };
    MergeError::config(key_path, reason)
}

fn expected(kind: ParamKind) -> String {
    match kind {
        ParamKind::Number { min, max } => match (min.is_finite(), max.is_finite()) {
            (true, true) => format!("a number in [{min}, {max}]"),
            (true, false) => format!("a number ≥ {min}"),
            (false, true) => format!("a number ≤ {max}"),
            (false, false) => "a number".to_string(),
        },
        ParamKind::Flag => "true or false".to_string(),
        ParamKind::RescaleMode => "true, false or \"inverse\"".to_string(),
        ParamKind::ConsensusMode => "\"sum\" or \"count\"".to_string(),
    }
}

/// A scalar, a gradient (list of numbers) or a list of `{filter, value}` conditions.
fn parse_value(value: &Value, path: &str, decl: &ParamDecl) -> Result<ParamValue> {
    let Value::Sequence(items) = value else {
        return parse_scalar(value, path, decl.kind).map(ParamValue::Scalar);
    };
    if items.is_empty() {
        return Err(MergeError::config(
            path,
            "empty list; give a value, a gradient [a, b, ...] or a list of {filter, value}",
        ));
    }
    if items[0].is_mapping() {
        return items
            .iter()
            .enumerate()
            .map(|(i, c)| parse_condition(c, &item(path, i), decl))
            .collect::<Result<_>>()
            .map(ParamValue::Conditional);
    }
    if !matches!(decl.kind, ParamKind::Number { .. }) {
        return Err(MergeError::config(
            path,
            format!(
                "`{}` takes {}, not a gradient",
                decl.name.key(),
                expected(decl.kind)
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, x)| parse_scalar(x, &item(path, i), decl.kind))
        .collect::<Result<_>>()
        .map(ParamValue::Gradient)
}

fn parse_condition(value: &Value, path: &str, decl: &ParamDecl) -> Result<Condition> {
    let entries = yaml::mapping(value, path)?;
    yaml::check_keys(&entries, path, &["filter", "value"], &[])?;
    let filter = match yaml::get_some(&entries, "filter") {
        None => None,
        Some(f) => Some(yaml::string(f, &child(path, "filter"))?.to_string()),
    };
    let value = yaml::get_some(&entries, "value")
        .ok_or_else(|| MergeError::config(child(path, "value"), "missing"))?;
    Ok(Condition {
        filter,
        value: parse_value(value, &child(path, "value"), decl)?,
    })
}

fn parse_scalar(value: &Value, path: &str, kind: ParamKind) -> Result<f64> {
    let wrong = || yaml::wrong_type(path, &expected(kind), value);
    match (kind, value) {
        (ParamKind::Number { min, max }, Value::Number(_)) => {
            let x = yaml::number(value, path)?;
            if x < min || x > max {
                return Err(MergeError::config(
                    path,
                    format!("{x} is out of range: expected {}", expected(kind)),
                ));
            }
            Ok(x)
        }
        (ParamKind::Flag, Value::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        (ParamKind::RescaleMode, Value::Bool(b)) => Ok(if *b {
            encoded::RESCALE_L1
        } else {
            encoded::RESCALE_OFF
        }),
        (ParamKind::RescaleMode, Value::String(s)) if s == "inverse" => {
            Ok(encoded::RESCALE_INVERSE)
        }
        (ParamKind::ConsensusMode, Value::String(s)) => match s.as_str() {
            "sum" => Ok(encoded::CONSENSUS_SUM),
            "count" => Ok(encoded::CONSENSUS_COUNT),
            _ => Err(wrong()),
        },
        _ => Err(wrong()),
    }
}
