//! The search loop: ask the optimiser for points, evaluate a generation at a time (merged in
//! memory, scored on the search split), tell it the values, and log every evaluation. Then
//! the result and the baselines on the held-out split.

use serde::Serialize;

use super::cmaes::Cmaes;
use super::objective::ObjectiveSpec;
use super::pareto::{front, preferences};
use super::spec::{OptimiserSpec, SearchSpec};
use crate::demo::score::TaskScore;
use crate::demo::tasks::derive_seed;
use crate::error::Result;

/// What one evaluation measured, on the search split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub index: usize,
    /// The optimiser run (Pareto searches make several) and its generation.
    pub run: usize,
    pub generation: usize,
    /// One per free parameter, in its units, as the recipe writes it.
    pub values: Vec<f64>,
    /// One per objective, higher is better.
    pub objectives: Vec<f64>,
    /// The run's preference-weighted sum of `objectives`: what it maximised.
    pub scalar: f64,
    pub scores: Vec<TaskScore>,
}

/// Scores points of the search space on the search split: natively a generation in parallel,
/// in the tab one after another.
#[allow(async_fn_in_trait)]
pub trait Evaluator {
    /// Task scores for each point (free values in their units), in order.
    async fn evaluate(&mut self, points: &[Vec<f64>]) -> Result<Vec<Vec<TaskScore>>>;
}

/// What a caller sees of a running search.
#[allow(async_fn_in_trait)]
pub trait SearchHooks {
    /// An error (usually `Cancelled`) ends the search with it.
    async fn before_generation(&mut self) -> Result<()> {
        Ok(())
    }

    /// `log`'s last evaluation has just been made; `best` indexes the best so far by its run's
    /// preference; `budget` is the search's whole.
    fn evaluated(&mut self, _log: &[Evaluation], _best: usize, _budget: usize) {}

    /// A generation is done (the tab redraws its figures then, not after every point).
    fn generation_done(&mut self, _log: &[Evaluation], _best: usize, _budget: usize) {}
}

impl SearchHooks for () {}

/// Every evaluation of a search, and which are its result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchLog {
    pub labels: Vec<String>,
    pub objectives: Vec<ObjectiveSpec>,
    pub evaluations: Vec<Evaluation>,
    /// The best evaluation of a one-objective search; each point of the front of a Pareto
    /// search, best first objective first.
    pub chosen: Vec<usize>,
}

/// Runs the optimiser of `spec` to its budget.
pub async fn run_search<E: Evaluator, H: SearchHooks>(
    spec: &SearchSpec,
    evaluator: &mut E,
    hooks: &mut H,
) -> Result<SearchLog> {
    let mut log = Logger {
        spec,
        evaluations: Vec::new(),
        best: None,
    };
    match &spec.optimiser {
        OptimiserSpec::Grid { points } => {
            let axis = |n: usize| (0..n).map(move |i| i as f64 / (n - 1) as f64);
            let grid: Vec<Vec<f64>> = match spec.free.len() {
                1 => axis(*points).map(|x| vec![x]).collect(),
                _ => axis(*points)
                    .flat_map(|y| axis(*points).map(move |x| vec![x, y]))
                    .collect(),
            };
            let weights = vec![1.0 / spec.objectives.len() as f64; spec.objectives.len()];
            hooks.before_generation().await?;
            log.generation(evaluator, hooks, &grid, 0, 0, &weights, grid.len())
                .await?;
        }
        OptimiserSpec::Cmaes {
            evaluations,
            population,
            sigma,
            preferences: weights,
        } => {
            let total: f64 = weights.iter().sum();
            let weights: Vec<f64> = weights.iter().map(|w| w / total).collect();
            let run = CmaesRun {
                budget: *evaluations,
                population: *population,
                sigma: *sigma,
                seed: spec.seed,
            };
            run.run(&mut log, evaluator, hooks, 0, &weights, *evaluations)
                .await?;
        }
        OptimiserSpec::Pareto {
            evaluations,
            population,
            sigma,
            runs,
        } => {
            let prefs = preferences(spec.objectives.len(), *runs);
            let share = evaluations / prefs.len();
            for (run, weights) in prefs.iter().enumerate() {
                let budget = match run + 1 == prefs.len() {
                    true => evaluations - share * run,
                    false => share,
                };
                let cmaes = CmaesRun {
                    budget,
                    population: *population,
                    sigma: *sigma,
                    seed: derive_seed(spec.seed, run as u64),
                };
                cmaes
                    .run(&mut log, evaluator, hooks, run, weights, *evaluations)
                    .await?;
            }
        }
    }
    let chosen = match spec.optimiser {
        OptimiserSpec::Pareto { .. } => {
            let points: Vec<Vec<f64>> = log
                .evaluations
                .iter()
                .map(|e| e.objectives.clone())
                .collect();
            front(&points)
        }
        _ => log.best.into_iter().collect(),
    };
    Ok(SearchLog {
        labels: spec.free.iter().map(|f| f.label.clone()).collect(),
        objectives: spec.objectives.clone(),
        evaluations: log.evaluations,
        chosen,
    })
}

struct Logger<'a> {
    spec: &'a SearchSpec,
    evaluations: Vec<Evaluation>,
    best: Option<usize>,
}

impl Logger<'_> {
    /// Evaluates `unit` points (clamped into the box) and logs them; returns their scalars.
    #[allow(clippy::too_many_arguments)]
    async fn generation<E: Evaluator, H: SearchHooks>(
        &mut self,
        evaluator: &mut E,
        hooks: &mut H,
        unit: &[Vec<f64>],
        run: usize,
        generation: usize,
        weights: &[f64],
        budget: usize,
    ) -> Result<Vec<f64>> {
        let points: Vec<Vec<f64>> = unit.iter().map(|u| self.spec.from_unit(u)).collect();
        let scores = evaluator.evaluate(&points).await?;
        let mut scalars = Vec::with_capacity(points.len());
        for (values, scores) in points.into_iter().zip(scores) {
            let objectives: Vec<f64> = self
                .spec
                .objectives
                .iter()
                .map(|o| o.value(&scores))
                .collect();
            let scalar = objectives.iter().zip(weights).map(|(o, w)| o * w).sum();
            let index = self.evaluations.len();
            self.evaluations.push(Evaluation {
                index,
                run,
                generation,
                values,
                objectives,
                scalar,
                scores,
            });
            let better = self
                .best
                .is_none_or(|b| scalar > self.evaluations[b].scalar);
            if better {
                self.best = Some(index);
            }
            scalars.push(scalar);
            hooks.evaluated(&self.evaluations, self.best.expect("set above"), budget);
        }
        hooks.generation_done(&self.evaluations, self.best.expect("set above"), budget);
        Ok(scalars)
    }
}

struct CmaesRun {
    budget: usize,
    population: Option<usize>,
    sigma: f64,
    seed: u64,
}

impl CmaesRun {
    /// The recipe's start point first (first run only), then generations until the budget is spent; points
    /// outside the box are evaluated clamped and penalised by their squared distance to it.
    async fn run<E: Evaluator, H: SearchHooks>(
        &self,
        log: &mut Logger<'_>,
        evaluator: &mut E,
        hooks: &mut H,
        run: usize,
        weights: &[f64],
        total_budget: usize,
    ) -> Result<()> {
        let start = log.spec.to_unit(&log.spec.start());
        // The recipe's own point is evaluated once, by the first run: later runs of a Pareto
        // search start from it too but would only log it again.
        let mut spent = 0;
        if run == 0 {
            hooks.before_generation().await?;
            let first = std::slice::from_ref(&start);
            log.generation(evaluator, hooks, first, run, 0, weights, total_budget)
                .await?;
            spent = 1;
        }
        let mut es = Cmaes::new(start, self.sigma, self.population, self.seed);
        let mut generation = 1;
        while spent < self.budget {
            hooks.before_generation().await?;
            let mut asked = es.ask();
            let complete = asked.len() <= self.budget - spent;
            asked.truncate(self.budget - spent);
            let clamped: Vec<Vec<f64>> = asked
                .iter()
                .map(|x| x.iter().map(|v| v.clamp(0.0, 1.0)).collect())
                .collect();
            let scalars = log
                .generation(
                    evaluator,
                    hooks,
                    &clamped,
                    run,
                    generation,
                    weights,
                    total_budget,
                )
                .await?;
            spent += asked.len();
            if complete {
                let fitness: Vec<f64> = asked
                    .iter()
                    .zip(&clamped)
                    .zip(&scalars)
                    .map(|((x, c), s)| {
                        let outside: f64 = x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                        -s + outside
                    })
                    .collect();
                es.tell(&asked, &fitness);
            }
            generation += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::search::spec::parse_search;

    /// Scores made from the point by formulas: task `a` peaks at (0.3, 0.7), task `b` grows
    /// with the first value.
    struct Synthetic {
        calls: usize,
    }

    fn score(task: &str, value: f64) -> TaskScore {
        TaskScore {
            task: task.into(),
            examples: 1,
            exact_match: value,
            char_accuracy: value,
            answer_loss: 1.0 - value,
        }
    }

    impl Evaluator for Synthetic {
        async fn evaluate(&mut self, points: &[Vec<f64>]) -> Result<Vec<Vec<TaskScore>>> {
            self.calls += 1;
            Ok(points
                .iter()
                .map(|p| {
                    let peak = 1.0 - (p[0] - 0.3).powi(2) - (p[1] - 0.7).powi(2);
                    vec![score("a", peak), score("b", p[0])]
                })
                .collect())
        }
    }

    fn spec(optimiser: &str, objectives: &str) -> SearchSpec {
        let text = format!(
            "merge_method: linear\nmodels:\n  - model: x\n    parameters: {{weight: 0.9}}\n  - model: y\n    parameters: {{weight: 0.1}}\nsearch:\n  parameters: [{{name: weight, bounds: [0, 1]}}]\n  objectives: {objectives}\n  optimiser: {optimiser}\n  data: {{tasks: t}}\n"
        );
        parse_search(&text, Path::new("."), false).unwrap()
    }

    fn run(spec: &SearchSpec) -> SearchLog {
        pollster::block_on(run_search(spec, &mut Synthetic { calls: 0 }, &mut ())).unwrap()
    }

    #[test]
    fn cmaes_finds_the_optimum_of_a_synthetic_objective_within_its_budget() {
        let spec = spec(
            "{kind: cmaes, evaluations: 120, sigma: 0.3}",
            "[{tasks: [a]}]",
        );
        let log = run(&spec);
        assert_eq!(log.evaluations.len(), 120);
        // The first evaluation is the recipe's own point.
        assert_eq!(log.evaluations[0].values, [0.9, 0.1]);
        let best = &log.evaluations[log.chosen[0]];
        assert!(
            (best.values[0] - 0.3).abs() < 0.02 && (best.values[1] - 0.7).abs() < 0.02,
            "{best:?}"
        );
        assert!(log
            .evaluations
            .iter()
            .all(|e| e.values.iter().all(|v| (0.0..=1.0).contains(v))));
        assert_eq!(log, run(&spec), "same seed, same log");
    }

    #[test]
    fn a_pareto_search_returns_a_front_that_trades_one_objective_for_the_other() {
        let spec = spec(
            "{kind: pareto, evaluations: 100, runs: 4}",
            "[{tasks: [a]}, {tasks: [b]}]",
        );
        let log = run(&spec);
        assert_eq!(log.evaluations.len(), 100);
        assert_eq!(log.evaluations.iter().map(|e| e.run).max(), Some(3));
        // The recipe's point is logged once, not once a run.
        let start = &log.evaluations[0].values;
        assert_eq!(
            log.evaluations
                .iter()
                .filter(|e| &e.values == start)
                .count(),
            1
        );
        assert!(log.chosen.len() >= 4, "{:?}", log.chosen);
        let front: Vec<&Evaluation> = log.chosen.iter().map(|&i| &log.evaluations[i]).collect();
        for pair in front.windows(2) {
            assert!(pair[0].objectives[0] >= pair[1].objectives[0]);
            assert!(pair[0].objectives[1] <= pair[1].objectives[1]);
        }
        // b's best is at the upper bound of the first value.
        assert!(front.iter().any(|e| e.objectives[1] > 0.99));
    }

    #[test]
    fn a_grid_evaluates_every_point_in_one_generation() {
        let text = "merge_method: linear\nmodels:\n  - model: x\n    parameters: {weight: 0.9}\n  - model: y\n    parameters: {weight: 0.1}\nsearch:\n  parameters: [{name: weight, bounds: [0, 1]}]\n  optimiser: {kind: grid, points: 3}\n  data: {tasks: t}\n";
        let spec = parse_search(text, Path::new("."), false).unwrap();
        let mut evaluator = Synthetic { calls: 0 };
        let log = pollster::block_on(run_search(&spec, &mut evaluator, &mut ())).unwrap();
        assert_eq!(evaluator.calls, 1);
        let points: Vec<Vec<f64>> = log.evaluations.iter().map(|e| e.values.clone()).collect();
        assert_eq!(
            points[..4],
            [
                vec![0.0, 0.0],
                vec![0.5, 0.0],
                vec![1.0, 0.0],
                vec![0.0, 0.5]
            ]
        );
        assert_eq!(points.len(), 9);
        // The macro average of a and b is best at (0.5, 0.5) or (0.5, 1) on this grid.
        assert_eq!(log.chosen.len(), 1);
    }
}
