//! Command definitions and dispatch.

mod bench_cmd;
mod inspect_cmd;
mod merge_cmd;
mod size;
mod synth_cmd;

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
    Merge {
        config: PathBuf,
        out_dir: PathBuf,
        /// Seed for random methods (DARE, DELLA) and the M³ mixup draw; overrides the config.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value = "auto")]
        device: DeviceChoice,
        /// Largest output shard, in bytes: a number with an optional K, M, B/G (10³ steps) or
        /// KiB, MiB, GiB suffix, as mergekit's --out-shard-size.
        #[arg(long, default_value = "5B", value_parser = size::parse_size)]
        out_shard_size: u64,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Elements per work item (memory per item is a few bytes per element and input).
        #[arg(long, default_value_t = mixmerge::exec::DEFAULT_CHUNK_ELEMENTS)]
        chunk_elements: usize,
        /// Replace OUT_DIR if it exists.
        #[arg(long)]
        overwrite: bool,
        /// Flush every output file to stable storage before renaming the folder into place.
        #[arg(long)]
        fsync: bool,
        /// Print the final report as one JSON line.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Show the tensors, dtypes, parameter count and shards of a checkpoint.
    Inspect {
        path: PathBuf,
        /// List every tensor (default: a summary and the first 20).
        #[arg(long)]
        all: bool,
    },
    /// Time merges of synthetic Llama-shaped checkpoints against the I/O floor.
    Bench {
        /// tiny, 1b, 7b or 13b.
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
    },
    /// Write a deterministic synthetic Llama-shaped checkpoint (for demos and benchmarks).
    Synth {
        out_dir: PathBuf,
        /// tiny, 1b, 7b or 13b.
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
    match cli.command {
        Command::Merge {
            config,
            out_dir,
            seed,
            device,
            out_shard_size,
            threads,
            chunk_elements,
            overwrite,
            fsync,
            json,
            quiet,
        } => merge_cmd::run(merge_cmd::MergeArgs {
            config,
            out_dir,
            seed,
            device,
            out_shard_size,
            threads,
            chunk_elements,
            overwrite,
            fsync,
            json,
            quiet,
        }),
        Command::Inspect { path, all } => inspect_cmd::run(&path, all),
        Command::Bench {
            shape,
            methods,
            runs,
            dir,
            variants,
            merge_arg,
        } => bench_cmd::run(&shape, methods, runs, dir, variants, merge_arg),
        Command::Synth {
            out_dir,
            shape,
            variant,
            dtype,
            shard_size,
        } => synth_cmd::run(&out_dir, &shape, variant, &dtype, shard_size),
    }
}
