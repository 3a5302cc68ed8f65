//! What every kernel runs on: the device and its pipelines, kernel parameters and WGSL sources,
//! buffers and staging, the job a tensor is, where its bytes come from, and its chunks.

pub mod buffers;
pub mod chunker;
pub mod context;
pub mod device;
pub mod job;
pub mod params;
pub mod pipelines;
pub mod shaders;
pub mod source;
#[cfg(not(target_arch = "wasm32"))]
pub mod staging;
