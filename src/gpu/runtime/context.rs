//! The GPU a merge runs on: its device, plus the buffers one tensor leaves for the next.
//! Built from handles the caller owns (native: [`request_native`]; web: the page's adapter).

use std::ops::Deref;
use std::sync::Mutex;

use super::buffers::Scratch;
use super::device::{gpu_error, GpuDevice};
use crate::error::Result;

pub struct GpuContext {
    gpu: GpuDevice,
    /// Buffers of the last tensor merged, for the next (see [`GpuContext::take_scratch`]).
    scratch: Mutex<Option<Scratch>>,
}

impl Deref for GpuContext {
    type Target = GpuDevice;

    fn deref(&self) -> &GpuDevice {
        &self.gpu
    }
}

impl GpuContext {
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        GpuContext {
            gpu: GpuDevice::new(device, queue, info),
            scratch: Mutex::default(),
        }
    }

    /// Caps the bytes of one binding, so tests can force tensors into many small chunks.
    pub fn with_binding_limit(self, bytes: u64) -> Self {
        self.map_device(|gpu| gpu.with_binding_limit(bytes))
    }

    /// Cuts uploads and read-backs into pieces of `bytes`, so tests can send small tensors
    /// through many of them.
    pub fn with_transfer_bytes(self, bytes: u64) -> Self {
        self.map_device(|gpu| gpu.with_transfer_bytes(bytes))
    }

    /// Chooses the rank-cut histogram kernel, so tests can run either on any adapter.
    pub fn with_workgroup_histograms(self, on: bool) -> Self {
        self.map_device(|gpu| gpu.with_workgroup_histograms(on))
    }

    fn map_device(self, change: impl FnOnce(GpuDevice) -> GpuDevice) -> Self {
        GpuContext {
            gpu: change(self.gpu),
            scratch: self.scratch,
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

/// The adapter unit tests run on; `None` (the test passes) only when there is none and the
/// environment does not require one (`MIXMERGE_REQUIRE_GPU=1`, as `make test` sets).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn test_context() -> Option<GpuContext> {
    crate::testing::require_gpu(
        request_native(false).expect("requesting an adapter"),
        "no GPU adapter was found",
    )
}
