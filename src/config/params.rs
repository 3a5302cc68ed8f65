//! Resolving a parameter for one tensor (and model), with mergekit's precedence:
//! slice source → slice → model → top level; the first level that yields a value wins.

use super::spec::{Lookup, MergeSpec, ParamMap, ParamValue, Parameters};
use crate::merge::catalog::ParamName;

/// The value of `value` for `tensor` at layer position `t ∈ [0, 1]`; `None` when no condition
/// matches the tensor.
pub fn evaluate(value: &ParamValue, tensor: &str, t: f64) -> Option<f64> {
    match value {
        ParamValue::Scalar(x) => Some(*x),
        ParamValue::Gradient(points) => gradient_at(points, t),
        ParamValue::Conditional(conditions) => conditions
            .iter()
            .find(|c| match c.filter.as_deref() {
                None | Some("*") => true,
                Some(filter) => tensor.contains(filter),
            })
            .and_then(|c| evaluate(&c.value, tensor, t)),
    }
}

/// Linear interpolation at `x = t·(len−1)` between neighbouring points.
fn gradient_at(points: &[f64], t: f64) -> Option<f64> {
    let (&first, &last) = (points.first()?, points.last()?);
    if points.len() == 1 {
        return Some(first);
    }
    let x = t.clamp(0.0, 1.0) * (points.len() - 1) as f64;
    let lower = x.floor() as usize;
    if lower >= points.len() - 1 {
        return Some(last);
    }
    let frac = x - lower as f64;
    Some(points[lower] + (points[lower + 1] - points[lower]) * frac)
}

/// Whether `value` yields a number for every tensor (a condition list needs a catch-all).
pub(super) fn is_total(value: &ParamValue) -> bool {
    match value {
        ParamValue::Scalar(_) | ParamValue::Gradient(_) => true,
        ParamValue::Conditional(conditions) => conditions
            .iter()
            .any(|c| matches!(c.filter.as_deref(), None | Some("*")) && is_total(&c.value)),
    }
}

impl Parameters {
    /// The maps consulted for `lookup`, in precedence order. Global lookups (`model: None`)
    /// skip the per-model levels.
    pub(super) fn levels<'a>(&'a self, lookup: &Lookup) -> impl Iterator<Item = &'a ParamMap> {
        let source = match (lookup.slice, lookup.model) {
            (Some(s), Some(m)) => self.per_source.get(s).and_then(|by_model| by_model.get(&m)),
            _ => None,
        };
        let slice = lookup.slice.and_then(|s| self.per_slice.get(s));
        let model = lookup.model.and_then(|m| self.per_model.get(&m));
        [source, slice, model, Some(&self.top)]
            .into_iter()
            .flatten()
    }

    /// The value of `name` for `lookup`, or `None` when no level gives one (the method's
    /// default then applies; see [`MergeSpec::param`]).
    pub fn resolve(&self, name: ParamName, lookup: &Lookup) -> Option<f64> {
        self.levels(lookup)
            .filter_map(|map| map.get(&name))
            .find_map(|value| evaluate(value, lookup.tensor, lookup.t))
    }
}

impl MergeSpec {
    /// `name` for `lookup`, falling back to the method's declared default. Validation guarantees
    /// required parameters are given, so NaN only comes back for a parameter the method does not
    /// declare and the config does not set.
    pub fn param(&self, name: ParamName, lookup: &Lookup) -> f64 {
        self.params.resolve(name, lookup).unwrap_or_else(|| {
            self.method
                .params()
                .iter()
                .find(|d| d.name == name)
                .and_then(|d| d.default)
                .unwrap_or(f64::NAN)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::spec::Condition;

    #[test]
    fn gradient_interpolates_between_neighbours() {
        let g = ParamValue::Gradient(vec![0.0, 0.5, 1.0, 0.0]);
        let at = |t| evaluate(&g, "x", t).unwrap();
        assert_eq!(at(0.0), 0.0);
        assert!((at(1.0 / 6.0) - 0.25).abs() < 1e-12);
        assert!((at(2.0 / 3.0) - 1.0).abs() < 1e-12);
        assert!((at(5.0 / 6.0) - 0.5).abs() < 1e-12);
        assert_eq!(at(1.0), 0.0);
        assert_eq!(
            evaluate(&ParamValue::Gradient(vec![0.7]), "x", 0.4),
            Some(0.7)
        );
    }

    #[test]
    fn totality_needs_a_catch_all() {
        let cond = |filter: Option<&str>| Condition {
            filter: filter.map(str::to_string),
            value: ParamValue::Scalar(1.0),
        };
        assert!(!is_total(&ParamValue::Conditional(vec![cond(Some("mlp"))])));
        assert!(is_total(&ParamValue::Conditional(vec![
            cond(Some("mlp")),
            cond(Some("*"))
        ])));
        assert!(is_total(&ParamValue::Conditional(vec![cond(None)])));
    }
}
