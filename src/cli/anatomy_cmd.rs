//! `mixmerge sweep anatomy`: the task-vector anatomy of a base and its experts.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use mixmerge::io::{open_checkpoint, Checkpoint, LocalSource};
use mixmerge::viz::anatomy::{anatomy, svg, AnatomyOptions};

#[derive(Debug, Args)]
pub struct AnatomyArgs {
    /// The base model (folder or file); task vectors are taken relative to it.
    #[arg(long)]
    base: PathBuf,
    /// The experts (one or more folders or files).
    #[arg(long, num_args = 1.., required = true)]
    models: Vec<PathBuf>,
    /// The tensor whose TIES and DARE masks are drawn (default: the first 2-D tensor of the
    /// lowest layer).
    #[arg(long)]
    tensor: Option<String>,
    /// TIES trim and DARE keep fraction.
    #[arg(long, default_value_t = 0.5)]
    density: f64,
    /// Seed of the DARE mask (a merge with the same `--seed` draws the same mask).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the figures' numbers here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the figure here.
    #[arg(long)]
    svg: Option<PathBuf>,
}

pub fn run(args: AnatomyArgs) -> anyhow::Result<()> {
    let base = open_named(&args.base)?;
    let experts = args
        .models
        .iter()
        .map(|path| open_named(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = AnatomyOptions {
        tensor: args.tensor,
        density: args.density,
        seed: args.seed,
    };
    let result = pollster::block_on(anatomy(&base, &experts, &options))?;
    for ([a, b], figures) in result.pairs.iter().zip(&result.overall) {
        let show = |v: Option<f64>| v.map_or("undefined".to_string(), |v| format!("{v:.4}"));
        println!(
            "{a} · {b}: cosine {}, sign conflict {}",
            show(figures.cosine),
            show(figures.conflict)
        );
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&result)? + "\n";
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, svg::render(&result)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Opens a checkpoint named after its folder (`www/demo/sorting` → `sorting`), as the page
/// names a picked folder, so both write the same report.
fn open_named(path: &Path) -> anyhow::Result<Checkpoint<LocalSource>> {
    let mut checkpoint = open_checkpoint(path)?;
    let folder = mixmerge::io::model_folder(path);
    let name = folder
        .canonicalize()
        .unwrap_or(folder)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    if let Some(name) = name {
        checkpoint.name = name;
    }
    Ok(checkpoint)
}
