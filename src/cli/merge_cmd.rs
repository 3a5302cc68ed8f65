//! `mixmerge merge`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use mixmerge::exec::ExecOptions;
use mixmerge::io::HubSettings;
use mixmerge::native::{merge_to_folder, prepare_with, read_config, Device, MergeOptions};

use super::{size, DeviceChoice};

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    pub config: PathBuf,
    pub out_dir: PathBuf,
    /// Seed for random methods (DARE, DELLA) and the M³ mixup draw; overrides the config.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The CPU unless asked: measured on an H100 machine, the GPU path end to end is still
    /// slower than 16 CPU cores (its uploads and read-backs are not yet overlapped).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Largest output shard, in bytes: a number with an optional K, M, B/G (10³ steps) or
    /// KiB, MiB, GiB suffix, as mergekit's --out-shard-size.
    #[arg(long, default_value = "5B", value_parser = size::parse_size)]
    pub out_shard_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Elements per work item (memory per item is a few bytes per element and input).
    #[arg(long, default_value_t = mixmerge::exec::DEFAULT_CHUNK_ELEMENTS)]
    pub chunk_elements: usize,
    /// Replace OUT_DIR if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Flush every output file to stable storage before renaming the folder into place.
    #[arg(long)]
    pub fsync: bool,
    /// Keep the hub models this merge streams in the Hugging Face cache (HF_HUB_CACHE, …), so
    /// later runs read them from disk. Files the merge did not read whole are not kept.
    #[arg(long)]
    pub cache: bool,
    /// Print the final report as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    if args.chunk_elements == 0 {
        bail!("--chunk-elements must be at least 1");
    }
    let spec = read_config(&args.config)?;
    let mut hub = HubSettings::from_env();
    hub.keep_streamed = args.cache;
    if args.cache && hub.cache.is_none() {
        bail!("--cache: no cache folder (set HF_HUB_CACHE, HF_HOME or HOME)");
    }
    let prepared = prepare_with(spec, args.seed, &hub)?;
    for warning in &prepared.plan.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(lambda) = prepared.plan.mixup_lambda {
        eprintln!("mixup: λ = {lambda:.6} (seed {})", prepared.plan.seed);
    }
    let mut exec = ExecOptions {
        chunk_elements: args.chunk_elements,
        ..ExecOptions::default()
    };
    if let Some(threads) = args.threads {
        exec.threads = threads.max(1);
    }
    let device = choose_device(args.device)?;
    let options = MergeOptions {
        seed: args.seed,
        max_shard_bytes: args.out_shard_size,
        overwrite: args.overwrite,
        fsync: args.fsync,
        exec,
        device,
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(prepared.plan.output_bytes());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
            )
            .expect("valid template"),
        );
        bar
    };
    let cancel = AtomicBool::new(false);
    let report = merge_to_folder(&prepared, &args.out_dir, &options, &cancel, &mut |p| {
        bar.set_position(p.bytes_written);
        bar.set_message(format!("{}/{} tensors", p.tensors_done, p.tensors_total));
    })?;
    bar.finish_and_clear();
    let peak = peak_rss_bytes();
    let moved = (report.bytes_read + report.bytes_written) as f64;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out_dir": report.out_dir,
                "tensors": report.tensors,
                "seconds": report.seconds,
                "bytes_read": report.bytes_read,
                "bytes_written": report.bytes_written,
                "peak_rss_bytes": peak,
                "seed": report.seed,
                "mixup_lambda": report.mixup_lambda,
                "files": report.files,
            })
        );
    } else {
        println!(
            "merged {} tensors in {:.2} s ({:.2} GB/s read+written), peak memory {} → {}",
            report.tensors,
            report.seconds,
            moved / report.seconds.max(1e-9) / 1e9,
            peak.map_or("unknown".to_string(), |b| format!(
                "{:.0} MB",
                b as f64 / 1e6
            )),
            report.out_dir.display()
        );
    }
    Ok(())
}

/// Peak resident memory of this process (Linux: VmHWM).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `auto` takes a GPU only when it is real hardware (a CPU Vulkan driver is slower than our CPU
/// path); `gpu` takes whatever adapter there is and fails without one.
#[cfg(feature = "gpu")]
fn choose_device(choice: DeviceChoice) -> anyhow::Result<Device> {
    use std::sync::Arc;
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Auto => match mixmerge::gpu::request_native(true)? {
            Some(context) => {
                eprintln!("device: {}", context.info().name);
                Device::Gpu(Arc::new(context))
            }
            None => Device::Cpu,
        },
        DeviceChoice::Gpu => match mixmerge::gpu::request_native(false)? {
            Some(context) => {
                eprintln!("device: {} ({:?})", context.info().name, context.info().device_type);
                Device::Gpu(Arc::new(context))
            }
            None => bail!("--device gpu: no GPU adapter found (on Linux without a GPU, install lavapipe: apt-get install mesa-vulkan-drivers)"),
        },
    })
}

#[cfg(not(feature = "gpu"))]
fn choose_device(choice: DeviceChoice) -> anyhow::Result<Device> {
    if choice == DeviceChoice::Gpu {
        bail!("this mixmerge was built without the GPU path; rebuild with `cargo build --release --features gpu`, or use --device cpu");
    }
    Ok(Device::Cpu)
}
