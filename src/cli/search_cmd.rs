//! `mixmerge search SEARCH.yml OUT_DIR`: optimise a recipe's free parameters on the demo
//! tasks; writes the log, the result's recipe(s) and the comparison with the baselines.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mixmerge::io::OutputFolder;
use mixmerge::model::cpu_device;
use mixmerge::search::native::{load_search, ThreadedEvaluator};
use mixmerge::search::svg::{convergence_svg, front_svg, weights_svg};
use mixmerge::search::{run_search, Evaluation, Scored, SearchHooks, SearchLog, SearchOutcome};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// A mergekit recipe with a `search:` section.
    pub search: PathBuf,
    /// Folder for evaluations.json, search.json, the chosen recipes and the figures (written
    /// whole at the end).
    pub out_dir: PathBuf,
    /// Evaluations in parallel (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long)]
    pub overwrite: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

struct Bar(Option<ProgressBar>);

impl SearchHooks for Bar {
    fn evaluated(&mut self, log: &[Evaluation], best: usize, budget: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(budget as u64);
            bar.set_position(log.len() as u64);
            bar.set_message(format!("best {:.3} (evaluation {best})", log[best].scalar));
        }
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    search: String,
    seed: u64,
    evaluations: usize,
    threads: usize,
    seconds: f64,
    evaluations_per_second: f64,
    objectives: Vec<&'a str>,
    #[serde(flatten)]
    outcome: &'a SearchOutcome,
}

pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let (session, baselines) = load_search(&args.search)?;
    // Checked before any work, as merges check their destination.
    let output = OutputFolder::create(&args.out_dir, args.overwrite)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let bar = (!args.quiet).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} evaluations, {elapsed} {msg}")
                .expect("a valid template"),
        );
        bar
    });
    let started = Instant::now();
    let mut evaluator = ThreadedEvaluator {
        session: &session,
        threads,
    };
    let log = pollster::block_on(run_search(
        &session.spec,
        &mut evaluator,
        &mut Bar(bar.clone()),
    ))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let recipes: Vec<(String, String, &Path)> = baselines
        .iter()
        .map(|b| (b.name.clone(), b.text.clone(), b.dir.as_path()))
        .collect();
    let device = cpu_device().device;
    let outcome = pollster::block_on(session.finish(&log, &recipes, &device))?;

    let dir = output.path();
    write(dir, "evaluations.json", &json(&log)?)?;
    let summary = Summary {
        search: args.search.display().to_string(),
        seed: session.spec.seed,
        evaluations: log.evaluations.len(),
        threads,
        seconds,
        evaluations_per_second: log.evaluations.len() as f64 / seconds,
        objectives: log.objectives.iter().map(|o| o.name.as_str()).collect(),
        outcome: &outcome,
    };
    write(dir, "search.json", &json(&summary)?)?;
    for (k, result) in outcome.results.iter().enumerate() {
        let name = match outcome.results.len() {
            1 => "best.yml".to_string(),
            _ => format!("front-{k:02}.yml"),
        };
        let recipe = result.recipe.as_deref().expect("results are recipes");
        write(
            dir,
            &name,
            &format!("# {} of {}\n{recipe}", result.name, args.search.display()),
        )?;
    }
    write(dir, "convergence.svg", &convergence_svg(&log.evaluations))?;
    if let Some(front) = front_svg(&log, &outcome) {
        write(dir, "front.svg", &front)?;
    }
    if let Some(&first) = log.chosen.first() {
        let values = &log.evaluations[first].values;
        write(dir, "weights.svg", &weights_svg(&session.spec.free, values))?;
    }
    let final_dir = output.commit()?;
    print_table(&log, &outcome, seconds);
    println!("wrote {}", final_dir.display());
    Ok(())
}

fn json<T: Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(value)?))
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

fn print_table(log: &SearchLog, outcome: &SearchOutcome, seconds: f64) {
    println!(
        "{} evaluations in {seconds:.1} s ({:.2} per second)",
        log.evaluations.len(),
        log.evaluations.len() as f64 / seconds
    );
    let names: Vec<&str> = log.objectives.iter().map(|o| o.name.as_str()).collect();
    println!("{:<34} {:>24} {:>24}", "", "search split", "held-out split");
    println!(
        "{:<34} {:>24} {:>24}",
        "",
        names.join(" / "),
        names.join(" / ")
    );
    let row = |s: &Scored| {
        let show = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{:.3}", x))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "{:<34} {:>24} {:>24}",
            s.name,
            show(&s.search),
            show(&s.held_out)
        );
    };
    for result in &outcome.results {
        let values = &log.evaluations[result.evaluation.expect("results are evaluations")].values;
        let point: Vec<String> = log
            .labels
            .iter()
            .zip(values)
            .map(|(l, v)| format!("{l}={v}"))
            .collect();
        row(result);
        println!("    {}", point.join(" "));
    }
    println!("baselines:");
    for baseline in &outcome.baselines {
        row(baseline);
    }
}
