//! `mixmerge bench`.

use std::path::PathBuf;

use anyhow::Context;
use mixmerge::bench::{run_bench, BenchOptions, ModelShape, SHAPES};

pub fn run(
    shape: &str,
    methods: Vec<String>,
    runs: usize,
    dir: PathBuf,
    variants: u32,
    merge_args: Vec<String>,
    cold: bool,
) -> anyhow::Result<()> {
    let shape = ModelShape::by_name(shape).with_context(|| {
        let known: Vec<&str> = SHAPES.iter().map(|s| s.name).collect();
        format!("unknown shape `{shape}` (known: {})", known.join(", "))
    })?;
    let options = BenchOptions {
        shape,
        methods,
        runs,
        dir,
        variants,
        exe: std::env::current_exe().context("locating the mixmerge executable")?,
        extra_args: merge_args,
        cold,
    };
    println!(
        "shape {} ({:.2} B parameters), base + {} variant(s), bf16, {} page cache, median of {} run(s)",
        shape.name,
        shape.parameter_count() as f64 / 1e9,
        variants,
        if cold { "cold" } else { "warm" },
        runs
    );
    println!(
        "{:<18} {:>9} {:>9} {:>7} {:>10} {:>10} {:>20} {:>14} {:>14}",
        "method",
        "wall s",
        "floor s",
        "ratio",
        "GB/s",
        "peak MB",
        "read copy/par/map",
        "write buf/dir",
        "CPU user/sys"
    );
    run_bench(&options, &mut |row| {
        let moved = (row.bytes_read + row.bytes_written) as f64;
        println!(
            "{:<18} {:>9.2} {:>9.2} {:>7.2} {:>10.2} {:>10.0} {:>7.2}/{:.2}/{:<6.2} {:>7.2}/{:<6.2} {:>7.2}/{:<6.2}",
            row.method,
            row.wall_seconds,
            row.floor_seconds,
            row.ratio(),
            moved / row.wall_seconds / 1e9,
            row.peak_rss_bytes as f64 / 1e6,
            row.floor_read_copied_seconds,
            row.floor_read_concurrent_seconds,
            row.floor_read_mapped_seconds,
            row.floor_write_buffered_seconds,
            row.floor_write_direct_seconds,
            row.user_seconds,
            row.system_seconds
        );
    })?;
    Ok(())
}
