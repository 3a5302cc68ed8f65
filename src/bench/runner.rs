//! Running the benchmark: generate inputs once, then per method alternate I/O-floor
//! measurements and merges in child processes (so each merge's peak RSS is its own).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::evict::evict_from_page_cache;
use super::floor::measure_io_floor;
use super::shapes::ModelShape;
use super::synth::write_synthetic_model;
use crate::dtype::DType;
use crate::error::{MergeError, Result};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub shape: ModelShape,
    pub methods: Vec<String>,
    pub runs: usize,
    pub dir: PathBuf,
    /// Number of fine-tuned variants besides the base.
    pub variants: u32,
    /// The `mixmerge` executable that runs each merge.
    pub exe: PathBuf,
    pub extra_args: Vec<String>,
    /// Drop the inputs from the page cache before every merge and every floor read.
    pub cold: bool,
}

#[derive(Debug, Clone)]
pub struct BenchRow {
    pub method: String,
    pub wall_seconds: f64,
    /// The faster way of reading plus the faster way of writing ([`super::floor::IoFloor`]).
    pub floor_seconds: f64,
    /// The floor's parts (medians): reading copied (one file after another, and all at once)
    /// and mapped, writing through the page cache and past it.
    pub floor_read_copied_seconds: f64,
    pub floor_read_concurrent_seconds: f64,
    pub floor_read_mapped_seconds: f64,
    pub floor_write_buffered_seconds: f64,
    pub floor_write_direct_seconds: f64,
    /// CPU seconds of the merge (medians): user space and kernel.
    pub user_seconds: f64,
    pub system_seconds: f64,
    pub peak_rss_bytes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl BenchRow {
    pub fn ratio(&self) -> f64 {
        self.wall_seconds / self.floor_seconds
    }
}

/// The recipe used to benchmark `method` over `base` and `variants`.
pub fn bench_config(method: &str, base: &Path, variants: &[PathBuf]) -> Result<String> {
    let list = |params: &dyn Fn(usize) -> String| -> String {
        variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "  - model: {}\n    parameters: {}\n",
                    v.display(),
                    params(i)
                )
            })
            .collect()
    };
    let half = 1.0 / variants.len() as f64;
    let base_line = format!("base_model: {}\n", base.display());
    Ok(match method {
        "linear" => format!(
            "merge_method: linear\nmodels:\n  - model: {}\n    parameters: {{weight: 1.0}}\n{}dtype: float32\nout_dtype: bfloat16\n",
            base.display(),
            list(&|_| "{weight: 1.0}".into())
        ),
        "task_arithmetic" => format!(
            "merge_method: task_arithmetic\n{base_line}models:\n{}dtype: float32\nout_dtype: bfloat16\n",
            list(&|_| format!("{{weight: {half}}}"))
        ),
        "mixup" => format!(
            "merge_method: task_arithmetic\n{base_line}models:\n{}mixup: {{alpha: 0.5, seed: 7}}\ndtype: float32\nout_dtype: bfloat16\n",
            list(&|_| "{weight: 0.5}".into())
        ),
        "ties" | "dare_ties" | "dare_linear" | "breadcrumbs" | "breadcrumbs_ties" => format!(
            "merge_method: {method}\n{base_line}models:\n{}dtype: float32\nout_dtype: bfloat16\n",
            list(&|_| "{weight: 0.5, density: 0.5}".into())
        ),
        "della" | "della_linear" => format!(
            "merge_method: {method}\n{base_line}models:\n{}dtype: float32\nout_dtype: bfloat16\n",
            list(&|_| "{weight: 0.5, density: 0.5, epsilon: 0.1}".into())
        ),
        "slerp" => format!(
            "merge_method: slerp\n{base_line}models:\n  - model: {}\nparameters: {{t: 0.3}}\ndtype: float32\nout_dtype: bfloat16\n",
            variants[0].display()
        ),
        other => {
            return Err(MergeError::Unsupported(format!(
                "no benchmark recipe for method `{other}`"
            )))
        }
    })
}

fn ensure_model(dir: &Path, shape: &ModelShape, variant: u32) -> Result<PathBuf> {
    let folder = dir.join(format!("{}-{}", shape.name, variant));
    let done = folder.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&folder);
        let started = Instant::now();
        eprintln!("generating {} ...", folder.display());
        write_synthetic_model(&folder, shape, DType::BF16, variant, 2_000_000_000)?;
        std::fs::write(&done, b"").map_err(|e| MergeError::io(done.display(), e))?;
        eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(folder)
}

fn safetensors_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| MergeError::io(folder.display(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    Ok(files)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs every method; `on_row` sees each result as soon as it is measured.
pub fn run_bench(
    options: &BenchOptions,
    on_row: &mut dyn FnMut(&BenchRow),
) -> Result<Vec<BenchRow>> {
    let dir = options.dir.join(options.shape.name);
    std::fs::create_dir_all(&dir).map_err(|e| MergeError::io(dir.display(), e))?;
    let base = ensure_model(&dir, &options.shape, 0)?;
    let variants = (1..=options.variants.max(1))
        .map(|v| ensure_model(&dir, &options.shape, v))
        .collect::<Result<Vec<_>>>()?;
    let out = dir.join("merged");
    let mut rows = Vec::new();
    for method in &options.methods {
        let config_text = bench_config(method, &base, &variants)?;
        let config = dir.join(format!("{method}.yml"));
        std::fs::write(&config, &config_text).map_err(|e| MergeError::io(config.display(), e))?;
        let mut inputs = Vec::new();
        let models_used: Vec<&PathBuf> = match method.as_str() {
            "slerp" => vec![&base, &variants[0]],
            _ => std::iter::once(&base).chain(&variants).collect(),
        };
        for model in models_used {
            inputs.extend(safetensors_files(model)?);
        }
        let (mut walls, mut floors, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
        let (mut copied, mut concurrent, mut mapped) = (Vec::new(), Vec::new(), Vec::new());
        let (mut buffered, mut direct) = (Vec::new(), Vec::new());
        let (mut users, mut systems) = (Vec::new(), Vec::new());
        let mut last = None;
        for run in 0..options.runs.max(1) {
            settle(&out);
            if options.cold {
                evict_from_page_cache(&inputs)?;
            }
            let report = run_child(options, &config, &out)?;
            walls.push(report.wall);
            users.push(report.user);
            systems.push(report.system);
            peaks.push(report.peak_rss as f64);
            settle(&out);
            let floor = measure_io_floor(&inputs, report.bytes_written, &dir, run, options.cold)?;
            floors.push(floor.seconds());
            copied.push(floor.read_copied);
            concurrent.push(floor.read_concurrent);
            mapped.push(floor.read_mapped);
            buffered.push(floor.write_buffered);
            direct.push(floor.write_direct);
            last = Some(report);
        }
        let last = last.expect("at least one run");
        let row = BenchRow {
            method: method.clone(),
            wall_seconds: median(&mut walls),
            floor_seconds: median(&mut floors),
            floor_read_copied_seconds: median(&mut copied),
            floor_read_concurrent_seconds: median(&mut concurrent),
            floor_read_mapped_seconds: median(&mut mapped),
            floor_write_buffered_seconds: median(&mut buffered),
            floor_write_direct_seconds: median(&mut direct),
            user_seconds: median(&mut users),
            system_seconds: median(&mut systems),
            peak_rss_bytes: median(&mut peaks) as u64,
            bytes_read: last.bytes_read,
            bytes_written: last.bytes_written,
        };
        on_row(&row);
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(rows)
}

/// Starts every timing from the same state: no previous output, no dirty pages being written
/// back (otherwise one run pays for the previous run's writeback).
fn settle(out: &Path) {
    let _ = std::fs::remove_dir_all(out);
    let _ = Command::new("sync").status();
}

struct ChildReport {
    wall: f64,
    /// CPU seconds the merge process used, in user space and in the kernel.
    user: f64,
    system: f64,
    peak_rss: u64,
    bytes_read: u64,
    bytes_written: u64,
}

fn run_child(options: &BenchOptions, config: &Path, out: &Path) -> Result<ChildReport> {
    let started = Instant::now();
    let cpu_before = children_cpu_seconds();
    let output = Command::new(&options.exe)
        .arg("merge")
        .arg(config)
        .arg(out)
        .args(["--overwrite", "--json", "--quiet"])
        .args(&options.extra_args)
        .output()
        .map_err(|e| MergeError::io(options.exe.display(), e))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = children_cpu_seconds();
    if !output.status.success() {
        return Err(MergeError::Unsupported(format!(
            "benchmark merge failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| MergeError::Unsupported(format!("unreadable merge report `{line}`: {e}")))?;
    let number = |key: &str| json.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
    Ok(ChildReport {
        wall,
        user: cpu_after.0 - cpu_before.0,
        system: cpu_after.1 - cpu_before.1,
        peak_rss: number("peak_rss_bytes"),
        bytes_read: number("bytes_read"),
        bytes_written: number("bytes_written"),
    })
}

/// (user, system) CPU seconds of every finished child so far.
fn children_cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}
