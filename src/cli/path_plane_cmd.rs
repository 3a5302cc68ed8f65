//! `mixmerge sweep path|plane`: what merging does between two demo experts, re-merged in memory
//! and scored on every task at each point; JSON (the numbers) and SVG (the picture).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use mixmerge::demo::sweep::folders::DemoFolder;
use mixmerge::demo::sweep::svg::{path_svg, plane_svg};
use mixmerge::demo::sweep::{
    default_pair, run_path, run_plane, MixupSampling, PairMethod, PathOptions, PlaneOptions,
    PointDone, SweepHooks,
};
use mixmerge::model::device_for;
use serde::Serialize;

use super::eval_cmd::BackendChoice;

/// The models, tasks and outputs every sweep takes.
#[derive(Debug, Args)]
pub struct SweepCommon {
    /// Demo folder (`train-demo`'s layout: base/, one folder per expert, tasks/, scores.json).
    #[arg(long, default_value = "www/demo")]
    pub demo: PathBuf,
    /// The base model's folder name in the demo folder.
    #[arg(long, default_value = "base")]
    pub base: String,
    /// Expert A (default: of the two experts with the best exact match in scores.json, the first).
    #[arg(long)]
    pub a: Option<String>,
    /// Expert B (default: the second of those two).
    #[arg(long)]
    pub b: Option<String>,
    /// Task sets (default: the demo folder's tasks/).
    #[arg(long)]
    pub tasks: Option<PathBuf>,
    /// Score only the first N examples of each task (default: all).
    #[arg(long)]
    pub examples: Option<usize>,
    /// Seed of the random methods (DARE).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the numbers here (default: print them when no --svg is given).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the picture here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
}

#[derive(Debug, Args)]
pub struct PathArgs {
    #[command(flatten)]
    pub common: SweepCommon,
    /// Points from λ = 0 to λ = 1.
    #[arg(long, default_value_t = 21)]
    pub points: usize,
    /// Methods, each merging A and B with weights 1 − λ and λ.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "linear,task_arithmetic,ties,dare_ties"
    )]
    pub methods: Vec<String>,
    /// Share of each task vector TIES and DARE keep.
    #[arg(long, default_value_t = 0.5)]
    pub density: f64,
    /// Task-arithmetic scale (mergekit's `lambda`) of the task-arithmetic methods.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// M³ samples λ ~ Beta(alpha, alpha) (0: none).
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Sample k uses mixup seed `mixup-seed + k`, as `mixmerge merge` would with that seed.
    #[arg(long, default_value_t = 0)]
    pub mixup_seed: u64,
    /// The method M³'s weights are used with.
    #[arg(long, default_value = "linear")]
    pub mixup_method: String,
}

#[derive(Debug, Args)]
pub struct PlaneArgs {
    #[command(flatten)]
    pub common: SweepCommon,
    /// Grid points per axis.
    #[arg(long, default_value_t = 21)]
    pub grid: usize,
    /// Smallest coordinate on both axes.
    #[arg(long, default_value_t = -0.25, allow_hyphen_values = true)]
    pub min: f64,
    /// Largest coordinate on both axes.
    #[arg(long, default_value_t = 1.25)]
    pub max: f64,
    /// Merges of A and B to mark on the plane.
    #[arg(long, value_delimiter = ',', default_value = "linear,ties,dare_ties")]
    pub merges: Vec<String>,
    /// The weights of A and B in those merges.
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [1.0, 1.0])]
    pub merge_weights: Vec<f64>,
    /// Share of each task vector TIES and DARE keep.
    #[arg(long, default_value_t = 0.5)]
    pub density: f64,
}

/// Prints `done/total` on stderr as points finish.
struct Progress;

impl SweepHooks for Progress {
    fn point_done(&mut self, p: PointDone) {
        eprint!("\r{}/{} points", p.done, p.total);
        if p.done == p.total {
            eprintln!();
        }
    }
}

/// The demo folder, the pair to sweep and the device.
fn setup(common: &SweepCommon) -> anyhow::Result<(DemoFolder, String, String)> {
    let demo = DemoFolder {
        dir: common.demo.clone(),
        base: common.base.clone(),
        tasks: common.tasks.clone(),
    };
    let (a, b) = match (&common.a, &common.b) {
        (Some(a), Some(b)) => (a.clone(), b.clone()),
        (a, b) => {
            let (first, second) = default_pair(&demo.scores()?, &common.base)?;
            (a.clone().unwrap_or(first), b.clone().unwrap_or(second))
        }
    };
    if a == b {
        anyhow::bail!("--a and --b name the same expert `{a}`");
    }
    Ok((demo, a, b))
}

pub fn run_path_cmd(args: PathArgs) -> anyhow::Result<()> {
    let (demo, a, b) = setup(&args.common)?;
    let options = PathOptions {
        methods: PairMethod::parse_list(&args.methods, args.density, args.scale)?,
        mixup: (args.samples > 0)
            .then(|| -> anyhow::Result<MixupSampling> {
                Ok(MixupSampling {
                    alpha: args.alpha,
                    samples: args.samples,
                    seed: args.mixup_seed,
                    method: PairMethod::parse_list(
                        std::slice::from_ref(&args.mixup_method),
                        args.density,
                        args.scale,
                    )?[0],
                })
            })
            .transpose()?,
        points: args.points,
        seed: args.common.seed,
        a,
        b,
    };
    let models = demo.load(&[&options.a, &options.b], args.common.examples)?;
    let device = device_for(args.common.backend.into())?;
    let report = pollster::block_on(run_path(&models, &options, &device.device, &mut Progress))?;
    write_outputs(&args.common, &report, || path_svg(&report))
}

pub fn run_plane_cmd(args: PlaneArgs) -> anyhow::Result<()> {
    let (demo, a, b) = setup(&args.common)?;
    let options = PlaneOptions {
        grid: args.grid,
        min: args.min,
        max: args.max,
        merges: PairMethod::parse_list(&args.merges, args.density, 1.0)?,
        merge_weights: [args.merge_weights[0], args.merge_weights[1]],
        seed: args.common.seed,
        a,
        b,
    };
    let models = demo.load(&[&options.a, &options.b], args.common.examples)?;
    let device = device_for(args.common.backend.into())?;
    let report = pollster::block_on(run_plane(&models, &options, &device.device, &mut Progress))?;
    write_outputs(&args.common, &report, || plane_svg(&report))
}

fn write_outputs<R: Serialize>(
    common: &SweepCommon,
    report: &R,
    svg: impl Fn() -> String,
) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    if let Some(path) = &common.json {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &common.svg {
        std::fs::write(path, svg()).with_context(|| format!("writing {}", path.display()))?;
    }
    if common.json.is_none() && common.svg.is_none() {
        println!("{json}");
    }
    Ok(())
}
