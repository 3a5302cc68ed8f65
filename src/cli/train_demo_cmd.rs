//! `mixmerge train-demo`: trains the demo base model and its experts, writes them with their
//! held-out task sets, scores every model and records the scores in `scores.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use mixmerge::demo::files::{load_task_sets, score_model_folder, write_files, write_task_sets};
use mixmerge::demo::train::{train_demo, DemoRecipe, DemoWeights, ExpertSpec};
use mixmerge::demo::vocab::{config_json, tokenizer_json};
use mixmerge::demo::DemoTask;
use mixmerge::io::{Checkpoint, MemorySource};
use mixmerge::model::cpu_device;
use serde_json::{json, Map, Value};

use super::demo_eval_cmd::write_table;

#[derive(Debug, Args)]
pub struct TrainDemoArgs {
    /// Output folder: base/, one folder per expert, tasks/, scores.json.
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pre-training steps of the base (default: the shipped recipe's).
    #[arg(long)]
    pub pretrain_steps: Option<usize>,
    /// Fine-tuning steps of each expert (default: the shipped recipe's).
    #[arg(long)]
    pub finetune_steps: Option<usize>,
    /// Peak learning rate of pre-training (default: the shipped recipe's).
    #[arg(long)]
    pub pretrain_lr: Option<f64>,
    /// Peak learning rate of fine-tuning (default: the shipped recipe's).
    #[arg(long)]
    pub finetune_lr: Option<f64>,
    /// Share of fine-tuning examples replayed from the pre-training mixture (default: the
    /// shipped recipe's).
    #[arg(long)]
    pub replay: Option<f64>,
    /// Rows per training step, both phases (default: the shipped recipe's).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Tokens per training row, both phases (default: the shipped recipe's).
    #[arg(long)]
    pub row_len: Option<usize>,
    /// Fine-tune only these experts (`sorting`, `sorting-2`, …; default: the shipped set).
    #[arg(long, value_delimiter = ',', value_parser = parse_expert)]
    pub experts: Option<Vec<ExpertSpec>>,
    /// Fine-tune from this base folder (a `train-demo` output's `base/`) instead of pre-training.
    #[arg(long)]
    pub base: Option<PathBuf>,
}

fn parse_expert(name: &str) -> Result<ExpertSpec, String> {
    ExpertSpec::parse(name).ok_or_else(|| {
        let names: Vec<_> = DemoTask::ALL.iter().map(|t| t.name()).collect();
        format!(
            "no demo expert {name:?} (a task, {}, optionally with -2, -3, … for a variant)",
            names.join(", ")
        )
    })
}

pub fn run(args: TrainDemoArgs) -> anyhow::Result<()> {
    let mut recipe = DemoRecipe::shipped(args.seed);
    if let Some(steps) = args.pretrain_steps {
        recipe.pretrain.steps = steps;
    }
    if let Some(steps) = args.finetune_steps {
        recipe.finetune.steps = steps;
    }
    if let Some(lr) = args.pretrain_lr {
        recipe.pretrain.peak_lr = lr;
    }
    if let Some(lr) = args.finetune_lr {
        recipe.finetune.peak_lr = lr;
    }
    if let Some(replay) = args.replay {
        anyhow::ensure!(
            (0.0..1.0).contains(&replay),
            "--replay {replay} is outside [0, 1)"
        );
        recipe.replay = replay;
    }
    for options in [&mut recipe.pretrain, &mut recipe.finetune] {
        options.rows = args.rows.unwrap_or(options.rows);
        options.row_len = args.row_len.unwrap_or(options.row_len);
    }
    if let Some(experts) = args.experts {
        recipe.experts = experts;
    }
    let device = cpu_device();
    let base = match &args.base {
        Some(folder) => Some(load_base(folder, &recipe, &device.device)?),
        None => None,
    };
    let start = Instant::now();
    let run = train_demo(&recipe, base, &device.device, &|model, step, loss| {
        if step % 50 == 0 {
            eprintln!(
                "{model:>9} step {step:>4}  loss {loss:.4}  ({:.0} s)",
                start.elapsed().as_secs_f64()
            );
        }
    })?;
    let train_seconds = start.elapsed().as_secs_f64();
    let config = serde_json::to_vec_pretty(&config_json(&recipe.shape))?;
    let tokenizer = serde_json::to_vec_pretty(&tokenizer_json())?;
    for model in &run.models {
        let files = [
            ("model.safetensors", model.weights.to_safetensors()?),
            ("config.json", config.clone()),
            ("tokenizer.json", tokenizer.clone()),
        ];
        write_files(&args.out.join(&model.name), &files)?;
    }
    let tasks_dir = args.out.join("tasks");
    write_task_sets(&tasks_dir, &run.held_out)?;

    // Scored from the written files, so the record is what `demo-eval` will reproduce.
    let sets = load_task_sets(&tasks_dir)?;
    let mut scores = Map::new();
    let mut out = std::io::stdout().lock();
    for model in &run.models {
        let model_scores = score_model_folder(&args.out.join(&model.name), &sets, &device.device)?;
        println!("{}:", model.name);
        write_table(&mut out, &model_scores)?;
        scores.insert(model.name.clone(), serde_json::to_value(&model_scores)?);
    }
    let record = json!({
        "command": format!("mixmerge train-demo OUT --seed {}", args.seed),
        "experts": recipe.experts.iter().map(|e| json!({"name": e.name(), "task": e.task.name(), "variant": e.variant})).collect::<Vec<_>>(),
        "seed": args.seed,
        "parameters": run.models[0].weights.parameter_count(),
        "pretrain": options_json(&recipe.pretrain),
        "finetune": options_json(&recipe.finetune),
        "replay": recipe.replay,
        "train_seconds": (train_seconds * 10.0).round() / 10.0,
        "final_losses": run.models.iter().map(|m| (m.name.clone(), json!(m.losses.last()))).collect::<Map<_, _>>(),
        "scores": scores,
    });
    write_json(&args.out.join("scores.json"), &record)?;
    println!(
        "wrote {} ({} parameters per model, trained in {train_seconds:.0} s)",
        args.out.display(),
        run.models[0].weights.parameter_count()
    );
    Ok(())
}

fn options_json(o: &mixmerge::demo::train::TrainOptions) -> Value {
    json!({
        "steps": o.steps, "rows": o.rows, "row_len": o.row_len, "peak_lr": o.peak_lr,
        "answers_only": o.answers_only, "shards": o.shards,
        "freeze_embeddings_and_norms": o.freeze_embeddings_and_norms,
    })
}

fn load_base(
    folder: &Path,
    recipe: &DemoRecipe,
    device: &burn::prelude::Device,
) -> anyhow::Result<DemoWeights> {
    let file = folder.join("model.safetensors");
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let source = MemorySource::new("model.safetensors", bytes);
    let checkpoint = pollster::block_on(Checkpoint::from_sources(
        file.display().to_string(),
        vec![source],
        None,
    ))?;
    Ok(pollster::block_on(DemoWeights::load(
        &recipe.shape,
        &checkpoint,
        device,
    ))?)
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
