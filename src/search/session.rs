//! A loaded search: the search file, the checkpoints, and the two splits it scores on; the
//! evaluation of one point, and the result and baselines on the held-out split afterwards.

use std::path::Path;

use burn::prelude::Device;
use serde::Serialize;
use serde_json::Value;

use super::objective::search_split;
use super::pool::{normalise, short_name, Pool};
use super::run::SearchLog;
use super::scorer::SplitScorer;
use super::spec::SearchSpec;
use super::text::split_text;
use crate::config::{parse_config_with, Layout, MergeSpec, ParseOptions};
use crate::demo::score::{TaskScore, TaskSet};
use crate::demo::sweep::TaskScorer;
use crate::error::Result;
use crate::model::TextTokenizer;

pub struct SearchSession {
    pub spec: SearchSpec,
    pub pool: Pool,
    pub search: SplitScorer,
    pub held_out: SplitScorer,
}

/// What the splits are drawn from: the task files' sets, and a text (its file, as messages
/// name it, and its contents).
#[derive(Default)]
pub struct SearchData {
    pub tasks: Vec<TaskSet>,
    pub text: Option<(String, String)>,
}

/// A recipe scored on both splits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub name: String,
    /// The mergekit YAML (none for a single checkpoint).
    pub recipe: Option<String>,
    /// The evaluation of the log it is (results only).
    pub evaluation: Option<usize>,
    /// One per objective.
    pub search: Vec<f64>,
    pub held_out: Vec<f64>,
    pub held_out_scores: Vec<TaskScore>,
}

/// The search's result and what it is compared with, on the held-out split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchOutcome {
    pub results: Vec<Scored>,
    pub baselines: Vec<Scored>,
}

impl SearchSession {
    /// `data.tasks` are the task files' sets, whose search split is drawn beside them with
    /// the search's seed; `data.text` is cut in halves. `config` and `tokenizer` are the
    /// models' own.
    pub fn new(
        spec: SearchSpec,
        pool: Pool,
        config: Value,
        tokenizer: TextTokenizer,
        data: SearchData,
    ) -> Result<Self> {
        let owner = pool
            .models
            .first()
            .map_or("model".into(), |m| m.weights.name.clone());
        let (search_tasks, held_out_tasks) = match data.tasks.is_empty() {
            true => (None, None),
            false => {
                let mut held_out = data.tasks;
                for set in &mut held_out {
                    set.examples.truncate(spec.data.held_out_examples);
                }
                let split = search_split(&held_out, spec.seed, spec.data.search_examples)?;
                let scorer =
                    |sets| TaskScorer::new(&owner, config.clone(), tokenizer.clone(), sets, None);
                (Some(scorer(split)?), Some(scorer(held_out)?))
            }
        };
        let (search_text, held_out_text) = match &data.text {
            None => (None, None),
            Some((file, text)) => {
                let name = short_name(Path::new(file));
                let name = name
                    .rsplit_once('.')
                    .map_or(name.as_str(), |(stem, _)| stem);
                let (first, second) = split_text(file, name, text, &tokenizer)?;
                (Some(first), Some(second))
            }
        };
        let window = spec.data.window;
        let search = SplitScorer::new(config.clone(), search_tasks, search_text, window)?;
        let held_out = SplitScorer::new(config, held_out_tasks, held_out_text, window)?;
        let names = held_out.names();
        for (i, objective) in spec.objectives.iter().enumerate() {
            objective.check(&format!("search.objectives[{i}].tasks"), &names)?;
        }
        Ok(SearchSession {
            spec,
            pool,
            search,
            held_out,
        })
    }

    /// The recipe at `values`, parsed as `mixmerge merge` would.
    pub fn recipe_spec(&self, values: &[f64]) -> Result<MergeSpec> {
        self.parse(&self.spec.recipe_text(values), &self.spec.base_dir)
    }

    fn parse(&self, text: &str, dir: &Path) -> Result<MergeSpec> {
        parse_config_with(text, dir, &ParseOptions { check_paths: false })
    }

    /// `recipe` merged in memory and scored by `scorer`.
    pub async fn score_recipe(
        &self,
        recipe: &MergeSpec,
        scorer: &SplitScorer,
        device: &Device,
    ) -> Result<Vec<TaskScore>> {
        let merged = self.pool.merge(recipe, self.spec.seed)?;
        scorer
            .score(&merged.weights, merged.num_hidden_layers, device)
            .await
    }

    /// The point with free values `values` on the search split.
    pub async fn score_point(&self, values: &[f64], device: &Device) -> Result<Vec<TaskScore>> {
        let recipe = self.recipe_spec(values)?;
        self.score_recipe(&recipe, &self.search, device).await
    }

    fn objectives(&self, scores: &[TaskScore]) -> Vec<f64> {
        self.spec
            .objectives
            .iter()
            .map(|o| o.value(scores))
            .collect()
    }

    async fn scored(
        &self,
        name: String,
        recipe: Option<(String, &Path)>,
        evaluation: Option<usize>,
        device: &Device,
    ) -> Result<Scored> {
        let (search, held_out) = match &recipe {
            Some((text, dir)) => {
                let spec = self.parse(text, dir)?;
                (
                    self.score_recipe(&spec, &self.search, device).await?,
                    self.score_recipe(&spec, &self.held_out, device).await?,
                )
            }
            None => {
                let model = self.pool.find(Path::new(&name))?;
                (
                    self.search.score(&model.weights, None, device).await?,
                    self.held_out.score(&model.weights, None, device).await?,
                )
            }
        };
        Ok(Scored {
            name: match recipe {
                Some(_) => name,
                None => short_name(Path::new(&name)),
            },
            recipe: recipe.map(|(text, _)| text),
            evaluation,
            search: self.objectives(&search),
            held_out: self.objectives(&held_out),
            held_out_scores: held_out,
        })
    }

    /// The chosen evaluations of `log` and the baselines, scored on both splits: every
    /// checkpoint the recipe names alone, their uniform average, the best of an 11-point
    /// weight grid when the recipe merges two models, and `recipes` (name, YAML, its folder).
    pub async fn finish(
        &self,
        log: &SearchLog,
        recipes: &[(String, String, &Path)],
        device: &Device,
    ) -> Result<SearchOutcome> {
        let mut results = Vec::new();
        for &index in &log.chosen {
            let values = &log.evaluations[index].values;
            let text = self.spec.recipe_text(values);
            let name = format!("evaluation {index}");
            results.push(
                self.scored(name, Some((text, &self.spec.base_dir)), Some(index), device)
                    .await?,
            );
        }
        let mut baselines = Vec::new();
        let merged = self.recipe_spec(&self.spec.start())?;
        let models: Vec<String> = match &merged.layout {
            Layout::Models { inputs } => inputs
                .iter()
                .map(|&m| merged.models[m].path.display().to_string())
                .collect(),
            Layout::Slices(_) => Vec::new(),
        };
        let choices: Vec<String> = self
            .spec
            .choice_paths()
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut singles: Vec<String> = merged
            .base
            .iter()
            .map(|&b| merged.models[b].path.display().to_string())
            .collect();
        for model in models.iter().cloned().chain(choices) {
            let seen = |m: &String| normalise(Path::new(m)) == normalise(Path::new(&model));
            if !singles.iter().any(seen) {
                singles.push(model);
            }
        }
        for model in singles {
            baselines.push(self.scored(model, None, None, device).await?);
        }
        if models.len() >= 2 {
            let text = linear_recipe(&models, &vec![1.0; models.len()]);
            baselines.push(
                self.scored(
                    "uniform average".into(),
                    Some((text, Path::new(""))),
                    None,
                    device,
                )
                .await?,
            );
        }
        if models.len() == 2 {
            baselines.push(self.best_grid(&models, device).await?);
        }
        for (name, text, dir) in recipes {
            baselines.push(
                self.scored(name.clone(), Some((text.clone(), dir)), None, device)
                    .await?,
            );
        }
        Ok(SearchOutcome { results, baselines })
    }

    /// Linear (1 − λ, λ) of two models at λ = 0, 0.1, …, 1, best on the search split by the
    /// objectives' mean.
    async fn best_grid(&self, models: &[String], device: &Device) -> Result<Scored> {
        let mut best: Option<(f64, f64)> = None;
        for step in 0..=10 {
            let lambda = f64::from(step) / 10.0;
            let spec = self.parse(
                &linear_recipe(models, &[1.0 - lambda, lambda]),
                Path::new(""),
            )?;
            let scores = self.score_recipe(&spec, &self.search, device).await?;
            let objectives = self.objectives(&scores);
            let mean = objectives.iter().sum::<f64>() / objectives.len() as f64;
            if best.is_none_or(|(b, _)| mean > b) {
                best = Some((mean, lambda));
            }
        }
        let (_, lambda) = best.expect("eleven points");
        let text = linear_recipe(models, &[1.0 - lambda, lambda]);
        self.scored(
            format!("best grid λ = {lambda:.1}"),
            Some((text, Path::new(""))),
            None,
            device,
        )
        .await
    }
}

/// A linear recipe over `models` (absolute or already-resolved paths) with `weights`.
fn linear_recipe(models: &[String], weights: &[f64]) -> String {
    let mut text = String::from("merge_method: linear\nmodels:\n");
    for (model, weight) in models.iter().zip(weights) {
        text.push_str(&format!(
            "  - model: {}\n    parameters: {{weight: {weight}}}\n",
            serde_json::to_string(model).expect("a string serialises")
        ));
    }
    text.push_str("dtype: float32\nout_dtype: float32\n");
    text
}
