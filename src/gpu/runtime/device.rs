//! The device, queue, limits and pipeline cache every GPU kernel runs on, and the first error
//! wgpu reported outside a call. Built from handles the caller owns, never inside a kernel.

use std::sync::{Arc, Mutex};

use super::pipelines::PipelineCache;
use crate::error::Result;

/// Bytes of one staging slice (`gpu/staging.rs`) and one read-back piece
/// (`Scratch::run_into`): large enough that a piece's round trip is small against moving it,
/// small against the memory a merge otherwise holds.
const TRANSFER_BYTES: u64 = 64 << 20;

pub struct GpuDevice {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// Largest storage binding a chunk may use (the device's, or less for tests).
    binding_limit: u64,
    /// Bytes of one staging slice and of one read-back piece (less for tests).
    transfer_bytes: u64,
    /// Rank-cut histograms count in workgroup memory first (GPUs), or straight into the
    /// result by global atomics (software adapters; see shaders/topk.wgsl).
    workgroup_histograms: bool,
    pub(crate) pipelines: PipelineCache,
    /// The first error wgpu reported outside a call (out of memory, validation, device lost):
    /// left unhandled it would panic; recorded, it fails the next wait and the merge moves on
    /// to the CPU.
    failure: Arc<Mutex<Option<String>>>,
}

impl GpuDevice {
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        let limits = device.limits();
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .max(4096)
            & !15;
        let failure: Arc<Mutex<Option<String>>> = Arc::default();
        let record = |failure: &Arc<Mutex<Option<String>>>, message: String| {
            failure
                .lock()
                .expect("gpu failure slot")
                .get_or_insert(message);
        };
        let on_error = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e| record(&on_error, e.to_string())));
        let on_lost = failure.clone();
        device.set_device_lost_callback(move |reason, message| {
            record(&on_lost, format!("device lost ({reason:?}): {message}"))
        });
        GpuDevice {
            workgroup_histograms: info.device_type != wgpu::DeviceType::Cpu,
            device,
            queue,
            info,
            binding_limit,
            transfer_bytes: TRANSFER_BYTES,
            pipelines: PipelineCache::default(),
            failure,
        }
    }

    /// The error wgpu reported since the device was made, if any.
    pub(crate) fn check(&self) -> Result<()> {
        match self.failure.lock().expect("gpu failure slot").as_ref() {
            Some(message) => Err(gpu_error("device", message)),
            None => Ok(()),
        }
    }

    /// Caps the bytes of one binding, so tests can force tensors into many small chunks.
    pub fn with_binding_limit(mut self, bytes: u64) -> Self {
        // Whole 16-byte words, as element-wise kernels bind them.
        self.binding_limit = bytes.clamp(64, self.binding_limit) & !15;
        self
    }

    pub fn binding_limit(&self) -> u64 {
        self.binding_limit
    }

    /// Cuts uploads and read-backs into pieces of `bytes` (whole 16-byte words), so tests can
    /// send small tensors through many of them.
    pub fn with_transfer_bytes(mut self, bytes: u64) -> Self {
        self.transfer_bytes = bytes.max(16) & !15;
        self
    }

    pub fn transfer_bytes(&self) -> u64 {
        self.transfer_bytes
    }

    /// Chooses the rank-cut histogram kernel, so tests can run either on any adapter.
    pub fn with_workgroup_histograms(mut self, on: bool) -> Self {
        self.workgroup_histograms = on;
        self
    }

    pub fn workgroup_histograms(&self) -> bool {
        self.workgroup_histograms
    }

    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// A software adapter (lavapipe, SwiftShader): fine for tests, slower than the CPU path.
    pub fn is_cpu(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Waits until the queue is idle; fails when wgpu has reported an error meanwhile.
    pub(crate) fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_error("waiting for the device", e))?;
        self.check()
    }
}

/// Maps a wgpu failure into the library's error type.
pub(crate) fn gpu_error(what: &str, error: impl std::fmt::Display) -> crate::MergeError {
    crate::MergeError::Unsupported(format!("gpu: {what}: {error}"))
}
