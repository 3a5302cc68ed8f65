//! What a search maximises: a metric averaged over some of the tasks, computed from one
//! evaluation's task scores; and the split it is computed on.

use serde::Serialize;

use crate::demo::score::{TaskScore, TaskSet};
use crate::demo::DemoTask;
use crate::error::{MergeError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    ExactMatch,
    CharAccuracy,
    /// Maximised as its negation, so that every objective is "higher is better".
    AnswerLoss,
    /// e^answer_loss: a text's perplexity (or the answers'), maximised as its negation.
    Perplexity,
}

impl Metric {
    pub fn key(self) -> &'static str {
        match self {
            Metric::ExactMatch => "exact_match",
            Metric::CharAccuracy => "char_accuracy",
            Metric::AnswerLoss => "answer_loss",
            Metric::Perplexity => "perplexity",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [
            Metric::ExactMatch,
            Metric::CharAccuracy,
            Metric::AnswerLoss,
            Metric::Perplexity,
        ]
        .into_iter()
        .find(|m| m.key() == key)
    }

    fn of(self, score: &TaskScore) -> f64 {
        match self {
            Metric::ExactMatch => score.exact_match,
            Metric::CharAccuracy => score.char_accuracy,
            Metric::AnswerLoss => -score.answer_loss,
            Metric::Perplexity => -score.answer_loss.exp(),
        }
    }
}

/// The mean of `metric` over `tasks` (every task when empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveSpec {
    pub name: String,
    pub tasks: Vec<String>,
    pub metric: Metric,
}

impl Default for ObjectiveSpec {
    fn default() -> Self {
        ObjectiveSpec {
            name: "exact_match".into(),
            tasks: Vec::new(),
            metric: Metric::ExactMatch,
        }
    }
}

impl ObjectiveSpec {
    /// Checks that every task named is scored.
    pub fn check(&self, path: &str, scored: &[String]) -> Result<()> {
        for task in &self.tasks {
            if !scored.contains(task) {
                return Err(MergeError::config(
                    path,
                    format!("no task set `{task}` (have: {})", scored.join(", ")),
                ));
            }
        }
        Ok(())
    }

    pub fn value(&self, scores: &[TaskScore]) -> f64 {
        let chosen: Vec<f64> = scores
            .iter()
            .filter(|s| self.tasks.is_empty() || self.tasks.contains(&s.task))
            .map(|s| self.metric.of(s))
            .collect();
        chosen.iter().sum::<f64>() / chosen.len().max(1) as f64
    }
}

/// Each held-out set's search split: `count` fresh examples of its task (named after a demo
/// task), drawn with `seed` and disjoint from the held-out examples.
pub fn search_split(held_out: &[TaskSet], seed: u64, count: usize) -> Result<Vec<TaskSet>> {
    held_out
        .iter()
        .map(|set| {
            let task = DemoTask::from_name(&set.name).ok_or_else(|| {
                MergeError::config(
                    format!("{}.jsonl", set.name),
                    "not a demo task: a search split is drawn from a task's generator",
                )
            })?;
            Ok(TaskSet {
                name: set.name.clone(),
                examples: task.search_split(seed, count, &set.examples),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(task: &str, exact: f64, loss: f64) -> TaskScore {
        TaskScore {
            task: task.into(),
            examples: 10,
            exact_match: exact,
            char_accuracy: exact,
            answer_loss: loss,
        }
    }

    #[test]
    fn objectives_average_their_tasks_and_negate_losses() {
        let scores = [
            score("a", 0.2, 1.0),
            score("b", 0.6, 3.0),
            score("c", 1.0, 0.5),
        ];
        let all = ObjectiveSpec::default();
        assert!((all.value(&scores) - 0.6).abs() < 1e-12);
        let two = ObjectiveSpec {
            name: "ab".into(),
            tasks: vec!["a".into(), "b".into()],
            metric: Metric::AnswerLoss,
        };
        assert!((two.value(&scores) + 2.0).abs() < 1e-12);
        let perplexity = ObjectiveSpec {
            metric: Metric::Perplexity,
            ..two.clone()
        };
        let want = -(1f64.exp() + 3f64.exp()) / 2.0;
        assert!((perplexity.value(&scores) - want).abs() < 1e-12);
        let err = two
            .check("search.objectives[0]", &["a".into()])
            .unwrap_err();
        assert!(err.to_string().contains("`b`"), "{err}");
    }
}
