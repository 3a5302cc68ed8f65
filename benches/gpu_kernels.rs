//! GPU kernel throughput (bytes read + written per second) on the present adapter:
//! `cargo bench --features gpu --bench gpu_kernels` (or `cargo test --features gpu --bench
//! gpu_kernels` for a quick dev-profile run). `MIXMERGE_BENCH_NUMEL` sets the tensor size.

use mixmerge::dtype::DType;
use mixmerge::gpu::bench::kernel_throughput;
use mixmerge::gpu::ceiling::copy_ceiling;
use mixmerge::gpu::request_native;
use mixmerge::merge::catalog::MethodKind;

fn main() {
    let Some(ctx) = request_native(false).expect("adapter") else {
        eprintln!("no GPU adapter: nothing to measure");
        return;
    };
    let numel: usize = std::env::var("MIXMERGE_BENCH_NUMEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 24);
    println!(
        "adapter: {} ({:?}, {:?}); {numel} elements per tensor; max storage binding {} MiB \
         (chunks of at most {} MiB of inputs)",
        ctx.info().name,
        ctx.info().device_type,
        ctx.info().backend,
        ctx.device().limits().max_storage_buffer_binding_size >> 20,
        ctx.binding_limit() >> 20
    );
    // The yardstick: what a plain copy moves on this device (read + written).
    let ceiling = copy_ceiling(&ctx, 256 << 20, 3).expect("copy ceiling");
    println!(
        "copy of {} MiB: buffer copy {:.3} GB/s; copy kernel, 4-byte words {:.3} GB/s, 16-byte words {:.3} GB/s",
        ceiling.bytes >> 20,
        ceiling.buffer_copy_gb_s,
        ceiling.kernel_words_gb_s,
        ceiling.kernel_quads_gb_s
    );
    let copy_kernel = ceiling.kernel_words_gb_s.max(ceiling.kernel_quads_gb_s);
    println!("kernel: the apply kernel on one resident chunk, 32 dispatches per submission (and its share of the faster copy kernel); merge: merge_tensor end to end");
    println!(
        "{:<18} {:>5} {:>12} {:>7} {:>12}",
        "method", "dtype", "kernel GB/s", "of copy", "merge GB/s"
    );
    let all = [
        MethodKind::Linear,
        MethodKind::TaskArithmetic,
        MethodKind::DareLinear,
        MethodKind::Ties,
        MethodKind::Breadcrumbs,
        MethodKind::Nearswap,
        MethodKind::Ram,
        MethodKind::DellaLinear,
        MethodKind::Della,
        MethodKind::Sce,
        MethodKind::ArceeFusion,
        MethodKind::Slerp,
        MethodKind::Nuslerp,
        MethodKind::Multislerp,
        MethodKind::Karcher,
        MethodKind::ModelStock,
    ];
    let chosen = std::env::var("MIXMERGE_BENCH_METHODS").ok();
    let methods: Vec<MethodKind> = match &chosen {
        Some(keys) => keys
            .split(',')
            .map(|k| MethodKind::from_key(k.trim()).expect("a method key"))
            .collect(),
        None => all.to_vec(),
    };
    for dtype in [DType::BF16, DType::F32] {
        // One method at a time, so each line shows as soon as it is measured (lavapipe is slow).
        let measured = methods
            .iter()
            .map(|&m| kernel_throughput(&ctx, &[m], dtype, numel, 3));
        for r in measured.flat_map(|r| r.expect("bench")) {
            println!(
                "{:<18} {:>5} {:>12.3} {:>6.0}% {:>12.3}",
                r.method,
                r.dtype,
                r.kernel_gb_s,
                100.0 * r.kernel_gb_s / copy_kernel,
                r.merge_gb_s
            );
        }
    }
}
