//! The GPU path: the WGSL kernels in `shaders/` run through wgpu, each with a CPU twin in
//! `merge/` that the tests hold it to. Three layers, each importing only from those below it
//! (`tests/core/gpu_layers.rs` holds the module graph acyclic):
//! - `runtime`: device, buffers, staging, pipelines, kernel parameters, a tensor's job and chunks;
//! - `kernels`: one file per kernel family, planning parameters as the CPU twin does;
//! - orchestration: [`merge_tensor`] merges one tensor chunk by chunk (statistics passes first,
//!   like the CPU executor), [`run_gpu`] runs a whole plan, falling back to the CPU for methods
//!   without a kernel; `bench` and `ceiling` time them.

pub mod bench;
pub mod ceiling;
mod executor;
mod kernels;
#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
mod prefetch;
mod runtime;
mod tensor;

pub use executor::{run_gpu_async, GpuRunReport};
pub use kernels::plan::supports;
#[cfg(not(target_arch = "wasm32"))]
pub use native::run_gpu;
#[cfg(not(target_arch = "wasm32"))]
pub use runtime::context::request_native;
#[cfg(target_arch = "wasm32")]
pub use runtime::context::request_web;
pub use runtime::context::GpuContext;
pub use runtime::device::GpuDevice;
pub use runtime::job::GpuTensor;
pub use runtime::shaders;
pub use runtime::source::{SlotRead, SlotReader};
pub use tensor::merge_tensor;
