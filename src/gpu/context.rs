//! The device, queue and pipeline cache every GPU kernel runs on. Built from handles the caller
//! owns (native: [`request_native`]; web: the page's adapter), never created inside a kernel.

use std::sync::{Arc, Mutex};

use super::buffers::Scratch;
use super::gpu_error;
use super::pipelines::PipelineCache;
use crate::error::Result;

/// Bytes of one staging slice (`gpu/staging.rs`) and one read-back piece
/// (`Scratch::run_into`): large enough that a piece's round trip is small against moving it,
/// small against the memory a merge otherwise holds.
const TRANSFER_BYTES: u64 = 64 << 20;

pub struct GpuContext {
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
    /// Buffers of the last tensor merged, for the next (see [`GpuContext::take_scratch`]).
    scratch: Mutex<Option<Scratch>>,
    /// The first error wgpu reported outside a call (out of memory, validation, device lost):
    /// left unhandled it would panic; recorded, it fails the next wait and the merge moves on
    /// to the CPU.
    failure: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
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
        GpuContext {
            workgroup_histograms: info.device_type != wgpu::DeviceType::Cpu,
            device,
            queue,
            info,
            binding_limit,
            transfer_bytes: TRANSFER_BYTES,
            pipelines: PipelineCache::default(),
            scratch: Mutex::default(),
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

    /// The buffers the last tensor left (creating GPU buffers of a gigabyte costs more than
    /// using them), or new ones; hand them back with [`GpuContext::keep_scratch`].
    pub(crate) fn take_scratch(&self) -> Scratch {
        let held = self.scratch.lock().expect("scratch slot").take();
        let mut scratch = held.unwrap_or_default();
        scratch.forget_inputs();
        scratch
    }

    pub(crate) fn keep_scratch(&self, scratch: Scratch) {
        *self.scratch.lock().expect("scratch slot") = Some(scratch);
    }

    /// Frees the buffers kept between tensors (at the end of a merge).
    pub fn release_scratch(&self) {
        self.scratch.lock().expect("scratch slot").take();
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

/// The best native adapter (discrete first), with its own limits and features. `Ok(None)` when
/// there is none, or when `require_real_gpu` and the only one is a CPU adapter.
#[cfg(not(target_arch = "wasm32"))]
pub fn request_native(require_real_gpu: bool) -> Result<Option<GpuContext>> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(request(instance, require_real_gpu))
}

/// The browser's WebGPU adapter (`navigator.gpu`, also in workers). `Ok(None)` when the
/// browser offers none.
#[cfg(target_arch = "wasm32")]
pub async fn request_web() -> Result<Option<GpuContext>> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    request(instance, false).await
}

/// A device on `instance`'s preferred adapter with the adapter's own limits (the defaults cap
/// a storage binding at 128 MiB), so chunks are as large as the device grants.
async fn request(instance: wgpu::Instance, require_real_gpu: bool) -> Result<Option<GpuContext>> {
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    let adapter = match instance.request_adapter(&options).await {
        Ok(adapter) => adapter,
        Err(_) => return Ok(None),
    };
    let info = adapter.get_info();
    if require_real_gpu && info.device_type == wgpu::DeviceType::Cpu {
        return Ok(None);
    }
    // Experimental features (mesh shaders, cooperative matrices on NVIDIA) need an opt-in we
    // never use; asking for them fails the request.
    let features = adapter.features()
        - wgpu::Features::MAPPABLE_PRIMARY_BUFFERS
        - wgpu::Features::all_experimental_mask();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("mixmerge"),
            required_features: features,
            required_limits: device_limits(&adapter),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            ..Default::default()
        })
        .await
        .map_err(|e| gpu_error("requesting a device", e))?;
    Ok(Some(GpuContext::new(device, queue, info)))
}

/// The adapter's own limits; for wgpu's no-op adapter (host-side timing, see Cargo.toml) those
/// of a large discrete GPU instead, since it reports limits no device has (wgpu itself cannot
/// take its bind-group count).
fn device_limits(adapter: &wgpu::Adapter) -> wgpu::Limits {
    if adapter.get_info().backend != wgpu::Backend::Noop {
        return adapter.limits();
    }
    let reported = adapter.limits();
    let two_gib = 1u64 << 31;
    wgpu::Limits {
        max_storage_buffer_binding_size: reported.max_storage_buffer_binding_size.min(two_gib),
        max_buffer_size: reported.max_buffer_size,
        ..wgpu::Limits::default()
    }
}
