//! CPU cost of each merge method, inputs in memory and output discarded (no disk, no system
//! calls): `cargo bench --bench cpu_merge`. `MIXMERGE_BENCH_SHAPE` (default 135m),
//! `MIXMERGE_BENCH_METHODS`, `MIXMERGE_BENCH_RUNS` (default 5), `MIXMERGE_BENCH_THREADS`
//! (default 1: the cost per core) and `MIXMERGE_SIMD` (baseline, avx2) choose what runs.

use mixmerge::bench::{InMemoryModels, ModelShape};
use mixmerge::merge::sparsify::wide::{limit_simd, simd_level, SimdLevel};

// The allocator of the `mixmerge` binary, so buffers are reused the way they are there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let shape_name = setting("MIXMERGE_BENCH_SHAPE", "135m");
    let shape = ModelShape::by_name(&shape_name).expect("a shape of `mixmerge bench`");
    let methods = setting(
        "MIXMERGE_BENCH_METHODS",
        "linear,task_arithmetic,ties,dare_ties,della,slerp",
    );
    let runs: usize = setting("MIXMERGE_BENCH_RUNS", "5")
        .parse()
        .expect("a run count");
    let threads: usize = setting("MIXMERGE_BENCH_THREADS", "1")
        .parse()
        .expect("a thread count");
    if let Ok(level) = std::env::var("MIXMERGE_SIMD") {
        limit_simd(SimdLevel::parse(&level).expect("baseline or avx2"));
    }
    let models = InMemoryModels::synthesize(&shape, 2).expect("synthetic models");
    println!(
        "shape {shape_name}, base + 2, bf16 in memory; {threads} thread(s), {:?}; median of {runs}",
        simd_level()
    );
    println!(
        "{:<18} {:>9} {:>8} {:>8}",
        "method", "seconds", "ns/elem", "GB/s"
    );
    for method in methods.split(',') {
        let row = models.time(method.trim(), runs, threads).expect("merge");
        println!(
            "{:<18} {:>9.3} {:>8.2} {:>8.2}",
            row.method,
            row.seconds,
            row.nanoseconds_per_element(),
            row.gigabytes_per_second()
        );
    }
}
