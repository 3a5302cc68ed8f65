//! `mixmerge demo-eval`: models' exact-match accuracy, per-character accuracy and answer loss on
//! the demo tasks, one model in detail or several in one table (with the share of each expert's
//! gain over the base they keep).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use mixmerge::demo::files::{load_task_sets, score_model_folder};
use mixmerge::demo::sweep::folders::DemoFolder;
use mixmerge::demo::TaskScore;
use mixmerge::model::device_for;
use serde_json::Value;

use super::eval_cmd::BackendChoice;

#[derive(Debug, Args)]
pub struct DemoEvalArgs {
    /// Model folders (config.json, safetensors, tokenizer.json); with more than one, one table
    /// row each.
    #[arg(required = true, num_args = 1..)]
    pub models: Vec<PathBuf>,
    /// A folder of `*.jsonl` task sets or one such file (default: `tasks` beside the first model).
    #[arg(long)]
    pub tasks: Option<PathBuf>,
    /// A demo folder whose scores.json gives the base's and each task's expert's scores: the
    /// table then shows how much of each expert's exact-match gain over the base a model keeps.
    #[arg(long)]
    pub demo: Option<PathBuf>,
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
        .unwrap_or_else(|| default_tasks_dir(&args.models[0]));
    let sets = load_task_sets(&tasks)?;
    let device = device_for(args.backend.into())?;
    let reference = match &args.demo {
        Some(dir) => Some(GainReference::read(dir)?),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    if let ([model], None) = (args.models.as_slice(), &reference) {
        let scores = score_model_folder(model, &sets, &device.device)?;
        match args.json {
            true => writeln!(out, "{}", serde_json::to_string_pretty(&scores)?)?,
            false => write_table(&mut out, &scores)?,
        }
        return Ok(());
    }
    let mut rows = Vec::with_capacity(args.models.len());
    for model in &args.models {
        let scores = score_model_folder(model, &sets, &device.device)?;
        let name = model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| model.display().to_string());
        rows.push((name, scores));
    }
    match args.json {
        true => {
            let json: Vec<_> = rows
                .iter()
                .map(|(name, scores)| serde_json::json!({"model": name, "scores": scores}))
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?
        }
        false => write_models_table(&mut out, &rows, reference.as_ref())?,
    }
    Ok(())
}

/// The base's and each task's own expert's exact match, from a demo folder's scores.json.
struct GainReference {
    /// (task, base exact match, its expert's exact match)
    tasks: Vec<(String, f64, f64)>,
}

impl GainReference {
    fn read(dir: &Path) -> anyhow::Result<Self> {
        let file = dir.join("scores.json");
        let record: Value = DemoFolder {
            dir: dir.to_path_buf(),
            base: "base".into(),
            tasks: None,
        }
        .scores()?;
        let exact = |model: &str, task: &str| -> Option<f64> {
            record["scores"][model]
                .as_array()?
                .iter()
                .find(|s| s["task"] == task)?["exact_match"]
                .as_f64()
        };
        let base = record["scores"]["base"]
            .as_array()
            .with_context(|| format!("{}: scores.base: missing or not a list", file.display()))?;
        let tasks = base
            .iter()
            .filter_map(|s| s["task"].as_str())
            .filter_map(|task| Some((task.to_string(), exact("base", task)?, exact(task, task)?)))
            .collect();
        Ok(GainReference { tasks })
    }

    /// Share of the task's expert's gain over the base that `exact` keeps.
    fn kept(&self, task: &str, exact: f64) -> Option<f64> {
        let (_, base, expert) = self.tasks.iter().find(|(t, _, _)| t == task)?;
        (expert - base > 0.0).then(|| (exact - base) / (expert - base))
    }
}

/// One row per model: each task's exact match (and, with a reference, the share of its
/// expert's gain kept) and per-character accuracy.
fn write_models_table(
    out: &mut impl Write,
    rows: &[(String, Vec<TaskScore>)],
    reference: Option<&GainReference>,
) -> std::io::Result<()> {
    let Some((_, first)) = rows.first() else {
        return Ok(());
    };
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(5).max(5);
    write!(out, "{:<width$}", "model")?;
    for score in first {
        write!(out, " | {:^24}", score.task)?;
    }
    writeln!(out)?;
    write!(out, "{:<width$}", "")?;
    for _ in first {
        let header = match reference {
            Some(_) => "exact (kept) / char",
            None => "exact / char",
        };
        write!(out, " | {header:^24}")?;
    }
    writeln!(out)?;
    for (name, scores) in rows {
        write!(out, "{name:<width$}")?;
        for s in scores {
            let kept = reference
                .and_then(|r| r.kept(&s.task, s.exact_match))
                .map(|k| format!(" ({:>4.0}%)", 100.0 * k))
                .unwrap_or_default();
            let cell = format!(
                "{:5.1}%{kept} / {:5.1}%",
                100.0 * s.exact_match,
                100.0 * s.char_accuracy
            );
            write!(out, " | {cell:>24}")?;
        }
        writeln!(out)?;
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
        "{:<12} {:>8} {:>12} {:>12} {:>12}",
        "task", "examples", "exact match", "char acc.", "answer loss"
    )?;
    for s in scores {
        writeln!(
            out,
            "{:<12} {:>8} {:>11.1}% {:>11.1}% {:>12.4}",
            s.task,
            s.examples,
            100.0 * s.exact_match,
            100.0 * s.char_accuracy,
            s.answer_loss
        )?;
    }
    Ok(())
}
