//! The GPU path: the WGSL kernels in `shaders/` run through wgpu, each with a CPU twin in
//! `merge/` that the tests hold it to. The context is built from a device and queue passed in;
//! [`merge_tensor`] merges one tensor chunk by chunk (statistics passes first, like the CPU
//! executor) and [`run_gpu`] runs a whole plan, falling back to the CPU for methods without a
//! kernel.

mod arcee_fusion;
pub mod bench;
mod buffers;
pub mod ceiling;
mod context;
mod della;
mod executor;
pub(crate) mod geometric;
mod kernels;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod params;
mod pipelines;
#[cfg(not(target_arch = "wasm32"))]
mod prefetch;
mod reduce;
mod sce;
mod selection;
pub mod shaders;
#[cfg(not(target_arch = "wasm32"))]
mod staging;
mod tensor;
mod topk;

#[cfg(not(target_arch = "wasm32"))]
pub use context::request_native;
#[cfg(target_arch = "wasm32")]
pub use context::request_web;
pub use context::GpuContext;
pub use executor::{run_gpu_async, GpuRunReport};
pub use kernels::supports;
#[cfg(not(target_arch = "wasm32"))]
pub use native::run_gpu;
pub use tensor::{merge_tensor, GpuTensor, SlotRead, SlotReader};

/// Maps a wgpu failure into the library's error type.
pub(crate) fn gpu_error(what: &str, error: impl std::fmt::Display) -> crate::MergeError {
    crate::MergeError::Unsupported(format!("gpu: {what}: {error}"))
}

/// The adapter unit tests run on; `None` (the test passes) only when there is none and the
/// environment does not require one (`MIXMERGE_REQUIRE_GPU=1`, as `make test` sets).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn test_context() -> Option<GpuContext> {
    let ctx = request_native(false).expect("requesting an adapter");
    if ctx.is_none() {
        assert_ne!(
            std::env::var("MIXMERGE_REQUIRE_GPU").as_deref(),
            Ok("1"),
            "MIXMERGE_REQUIRE_GPU=1 but no GPU adapter was found"
        );
    }
    ctx
}
