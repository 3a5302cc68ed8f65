//! `mixmerge demo-eval`: a model's exact-match accuracy and answer loss on the demo tasks.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use mixmerge::demo::files::{load_task_sets, score_model_folder};
use mixmerge::demo::TaskScore;
use mixmerge::model::device_for;

use super::eval_cmd::BackendChoice;

#[derive(Debug, Args)]
pub struct DemoEvalArgs {
    /// Model folder (config.json, safetensors, tokenizer.json).
    pub model: PathBuf,
    /// A folder of `*.jsonl` task sets or one such file (default: `tasks` beside MODEL).
    #[arg(long)]
    pub tasks: Option<PathBuf>,
    /// Print the scores as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
}

pub fn run(args: DemoEvalArgs) -> anyhow::Result<()> {
    let tasks = args
        .tasks
        .clone()
        .unwrap_or_else(|| default_tasks_dir(&args.model));
    let sets = load_task_sets(&tasks)?;
    let device = device_for(args.backend.into())?;
    let scores = score_model_folder(&args.model, &sets, &device.device)?;
    let mut out = std::io::stdout().lock();
    match args.json {
        true => writeln!(out, "{}", serde_json::to_string_pretty(&scores)?)?,
        false => write_table(&mut out, &scores)?,
    }
    Ok(())
}

/// `OUT/tasks` for a model at `OUT/<name>`, as `train-demo` lays them out.
pub fn default_tasks_dir(model: &Path) -> PathBuf {
    model
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("tasks")
}

pub fn write_table(out: &mut impl Write, scores: &[TaskScore]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<12} {:>8} {:>12} {:>12}",
        "task", "examples", "exact match", "answer loss"
    )?;
    for s in scores {
        writeln!(
            out,
            "{:<12} {:>8} {:>11.1}% {:>12.4}",
            s.task,
            s.examples,
            100.0 * s.exact_match,
            s.answer_loss
        )?;
    }
    Ok(())
}
