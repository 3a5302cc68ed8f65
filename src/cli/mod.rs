//! Command definitions and dispatch.

mod anatomy_cmd;
mod bench_cmd;
#[cfg(feature = "eval")]
mod demo_eval_cmd;
#[cfg(feature = "eval")]
mod eval_cmd;
mod inspect_cmd;
mod merge_cmd;
#[cfg(feature = "eval")]
mod path_plane_cmd;
#[cfg(feature = "eval")]
mod search_cmd;
mod size;
mod sweep_cmd;
mod synth_cmd;
#[cfg(feature = "train")]
mod train_demo_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "mixmerge",
    version,
    about = "Merge LLM checkpoints with mergekit recipes, streaming, in bounded memory"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// A real GPU when there is one, otherwise the CPU.
    Auto,
    Cpu,
    Gpu,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Merge the models named in a mergekit YAML config into OUT_DIR.
    Merge(merge_cmd::MergeArgs),
    /// Show the tensors, dtypes, parameter count and shards of a checkpoint.
    Inspect {
        path: PathBuf,
        /// List every tensor (default: a summary and the first 20).
        #[arg(long)]
        all: bool,
    },
    /// Time merges of synthetic Llama-shaped checkpoints against the I/O floor.
    Bench {
        /// tiny, 135m, 1b, 7b or 13b.
        #[arg(long, default_value = "1b")]
        shape: String,
        #[arg(long, value_delimiter = ',', default_value = "linear,task_arithmetic")]
        methods: Vec<String>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Where the synthetic models live (created once, reused).
        #[arg(long, default_value = "/var/tmp/mixmerge-bench")]
        dir: PathBuf,
        /// Fine-tuned variants besides the base.
        #[arg(long, default_value_t = 2)]
        variants: u32,
        /// Extra arguments for each `mixmerge merge` run (e.g. --threads=1).
        #[arg(long, allow_hyphen_values = true)]
        merge_arg: Vec<String>,
        /// Drop the inputs from the page cache before every merge and floor read, so both read
        /// from the disk (as any merge of models larger than memory does).
        #[arg(long)]
        cold: bool,
    },
    /// Perplexity of a text under a model (burn inference).
    #[cfg(feature = "eval")]
    Eval(eval_cmd::EvalArgs),
    /// Continue a prompt with a model, greedy or sampled (burn inference).
    #[cfg(feature = "eval")]
    Generate(eval_cmd::GenerateArgs),
    /// Exact-match accuracy and answer loss of a model on the demo tasks (burn inference).
    #[cfg(feature = "eval")]
    DemoEval(demo_eval_cmd::DemoEvalArgs),
    /// Train the demo base model and its three task experts on the CPU (burn autodiff).
    #[cfg(feature = "train")]
    TrainDemo(train_demo_cmd::TrainDemoArgs),
    /// Optimise a recipe's free parameters (a `search:` section) on the demo tasks.
    #[cfg(feature = "eval")]
    Search(search_cmd::SearchArgs),
    /// Figures of what merging does (JSON and SVG).
    #[command(subcommand)]
    Sweep(sweep_cmd::SweepCommand),
    /// Write a deterministic synthetic Llama-shaped checkpoint (for demos and benchmarks).
    Synth {
        out_dir: PathBuf,
        /// tiny, 135m, 1b, 7b or 13b.
        #[arg(long, default_value = "tiny")]
        shape: String,
        /// 0 is the base; every other number is a distinct fine-tune of it.
        #[arg(long, default_value_t = 0)]
        variant: u32,
        /// float32, float16 or bfloat16.
        #[arg(long, default_value = "bfloat16")]
        dtype: String,
        #[arg(long, default_value = "5B", value_parser = size::parse_size)]
        shard_size: u64,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    limit_simd_from_env()?;
    match cli.command {
        Command::Merge(args) => merge_cmd::run(args),
        Command::Inspect { path, all } => inspect_cmd::run(&path, all),
        Command::Bench {
            shape,
            methods,
            runs,
            dir,
            variants,
            merge_arg,
            cold,
        } => bench_cmd::run(&shape, methods, runs, dir, variants, merge_arg, cold),
        #[cfg(feature = "eval")]
        Command::Eval(args) => eval_cmd::run_eval(args),
        #[cfg(feature = "eval")]
        Command::Generate(args) => eval_cmd::run_generate(args),
        #[cfg(feature = "eval")]
        Command::DemoEval(args) => demo_eval_cmd::run(args),
        #[cfg(feature = "train")]
        Command::TrainDemo(args) => train_demo_cmd::run(args),
        #[cfg(feature = "eval")]
        Command::Search(args) => search_cmd::run(args),
        Command::Sweep(command) => sweep_cmd::run(command),
        Command::Synth {
            out_dir,
            shape,
            variant,
            dtype,
            shard_size,
        } => synth_cmd::run(&out_dir, &shape, variant, &dtype, shard_size),
    }
}

/// `MIXMERGE_SIMD=baseline|avx2` caps the instruction set of the CPU hot loops (results
/// are identical at every level; this is for measuring).
fn limit_simd_from_env() -> anyhow::Result<()> {
    use mixmerge::merge::sparsify::wide::{limit_simd, SimdLevel};
    let Ok(value) = std::env::var("MIXMERGE_SIMD") else {
        return Ok(());
    };
    let level = SimdLevel::parse(&value)
        .ok_or_else(|| anyhow::anyhow!("MIXMERGE_SIMD={value:?}: expected baseline or avx2"))?;
    limit_simd(level);
    Ok(())
}
