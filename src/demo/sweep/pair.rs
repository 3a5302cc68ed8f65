//! Which two experts a sweep shows when none is named: the two that learned most, read from
//! the demo's `scores.json` (`{"scores": {model: [TaskScore…]}}`) with no task name assumed.

use serde_json::Value;

use crate::error::{MergeError, Result};

/// The experts of `scores` (every model but `base`) in file order, each with its best exact
/// match over tasks and its lowest answer loss.
fn expert_skill(scores: &Value, base: &str) -> Result<Vec<(String, f64, f64)>> {
    let models = scores
        .get("scores")
        .and_then(Value::as_object)
        .ok_or_else(|| MergeError::config("scores.json: scores", "missing or not an object"))?;
    let number = |s: &Value, key: &str| s.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let experts: Vec<(String, f64, f64)> = models
        .iter()
        .filter(|(name, _)| name.as_str() != base)
        .map(|(name, list)| {
            let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
            let best = list
                .iter()
                .map(|s| number(s, "exact_match"))
                .fold(f64::NAN, f64::max);
            let loss = list
                .iter()
                .map(|s| number(s, "answer_loss"))
                .fold(f64::NAN, f64::min);
            (name.clone(), best, loss)
        })
        .collect();
    Ok(experts)
}

/// Every expert of `scores` in file order.
pub fn expert_names(scores: &Value, base: &str) -> Result<Vec<String>> {
    Ok(expert_skill(scores, base)?
        .into_iter()
        .map(|(n, _, _)| n)
        .collect())
}

/// The two experts with the highest best exact match (then the lowest loss), in file order.
pub fn default_pair(scores: &Value, base: &str) -> Result<(String, String)> {
    let experts = expert_skill(scores, base)?;
    if experts.len() < 2 {
        return Err(MergeError::config(
            "scores.json: scores",
            format!(
                "a sweep needs two experts besides `{base}`, found {}",
                experts.len()
            ),
        ));
    }
    let mut ranked: Vec<usize> = (0..experts.len()).collect();
    let key = |i: usize| (-experts[i].1, experts[i].2);
    ranked.sort_by(|&i, &j| {
        key(i)
            .partial_cmp(&key(j))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let (first, second) = (ranked[0].min(ranked[1]), ranked[0].max(ranked[1]));
    Ok((experts[first].0.clone(), experts[second].0.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scores(models: &[(&str, f64, f64)]) -> Value {
        let map: serde_json::Map<String, Value> = models
            .iter()
            .map(|(name, exact, loss)| {
                (
                    name.to_string(),
                    json!([{"task": "t", "exact_match": exact, "answer_loss": loss}]),
                )
            })
            .collect();
        json!({ "scores": map })
    }

    #[test]
    fn picks_the_two_best_experts_in_file_order() {
        let s = scores(&[
            ("base", 0.9, 0.1),
            ("p", 0.0, 3.0),
            ("q", 0.7, 1.0),
            ("r", 0.0, 2.0),
        ]);
        assert_eq!(default_pair(&s, "base").unwrap(), ("q".into(), "r".into()));
        assert_eq!(expert_names(&s, "base").unwrap(), ["p", "q", "r"]);
    }

    #[test]
    fn too_few_experts_or_no_scores_are_named() {
        let err =
            default_pair(&scores(&[("base", 0.0, 1.0), ("p", 0.0, 1.0)]), "base").unwrap_err();
        assert!(err.to_string().contains("found 1"), "{err}");
        let err = default_pair(&json!({}), "base").unwrap_err();
        assert!(err.to_string().contains("scores.json: scores"), "{err}");
    }
}
