//! Where inference runs: burn's pure-Rust CPU backend (`flex`), with the `gpu` feature wgpu
//! (Vulkan/Metal/DX12 natively, WebGPU in the browser), optionally on a device the caller owns,
//! and with the `cuda` feature burn's CUDA backend on NVIDIA GPUs.

use burn::prelude::Device;

use crate::error::{MergeError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Gpu,
    Cuda,
}

/// An initialised device and a line describing it for reports.
#[derive(Clone)]
pub struct InferenceDevice {
    pub device: Device,
    pub description: String,
}

/// burn's CPU backend.
pub fn cpu_device() -> InferenceDevice {
    InferenceDevice {
        device: Device::flex(),
        description: "CPU (burn flex)".to_string(),
    }
}

/// The best wgpu adapter on this machine; fails when there is none. Call once per process:
/// burn registers the runtime and a second `init` of the same selector is an error.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub fn gpu_device() -> Result<InferenceDevice> {
    pollster::block_on(gpu_device_async())
}

/// [`gpu_device`] for the browser too: there the adapter is the worker's `navigator.gpu`
/// (burn requests it with the adapter's own limits). Once per process, as `gpu_device`.
#[cfg(feature = "gpu")]
pub async fn gpu_device_async() -> Result<InferenceDevice> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| {
            MergeError::Unsupported(format!("no usable wgpu adapter for inference: {e}"))
        })?;
    Ok(InferenceDevice {
        device,
        description: describe(&setup),
    })
}

/// Runs burn on wgpu handles the caller created (the merge's device, the page's adapter), so both
/// share one device. Flush burn's work before submitting other work on the same queue.
#[cfg(feature = "gpu")]
pub fn shared_gpu_device(setup: burn::tensor::wgpu::WgpuSetup) -> Result<InferenceDevice> {
    let description = describe(&setup);
    let device = Device::wgpu_options()
        .setup(setup)
        .init()
        .map_err(|e| MergeError::Unsupported(format!("wgpu device refused by burn: {e}")))?;
    Ok(InferenceDevice {
        device,
        description,
    })
}

pub fn device_for(backend: Backend) -> Result<InferenceDevice> {
    match backend {
        Backend::Cpu => Ok(cpu_device()),
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        Backend::Gpu => gpu_device(),
        #[cfg(all(feature = "gpu", target_arch = "wasm32"))]
        Backend::Gpu => Err(MergeError::Unsupported(
            "in the browser, await gpu_device_async (WebGPU starts asynchronously)".into(),
        )),
        #[cfg(not(feature = "gpu"))]
        Backend::Gpu => Err(MergeError::Unsupported(
            "this build has no GPU inference; rebuild with --features eval,gpu".into(),
        )),
        #[cfg(feature = "cuda")]
        Backend::Cuda => cuda_device(),
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda => Err(MergeError::Unsupported(
            "this build has no CUDA inference; rebuild with --features eval,cuda (the build \
             downloads burn's LLVM bundle for NVPTX, so it needs the network; running needs an \
             NVIDIA driver, not the CUDA toolkit)"
                .into(),
        )),
    }
}

/// The first CUDA GPU. burn starts CUDA on first use and panics without a driver or a GPU, so a
/// one-element tensor is made here and a panic becomes an error.
#[cfg(feature = "cuda")]
pub fn cuda_device() -> Result<InferenceDevice> {
    let device = Device::cuda(0);
    let probe = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        burn::prelude::Tensor::<1>::zeros([1], &device).into_data()
    }));
    match probe {
        Ok(_) => Ok(InferenceDevice {
            device,
            description: "CUDA device 0 (burn cuda)".to_string(),
        }),
        Err(_) => Err(MergeError::Unsupported(
            "no usable CUDA device for inference (needs an NVIDIA GPU and its driver's libcuda)"
                .into(),
        )),
    }
}

#[cfg(feature = "gpu")]
fn describe(setup: &burn::tensor::wgpu::WgpuSetup) -> String {
    let info = setup.adapter.get_info();
    // Browsers hide the adapter's name unless asked (Chromium's developer features).
    let name = match info.name.is_empty() {
        true => "(name hidden by the browser)",
        false => info.name.as_str(),
    };
    format!("GPU {name} ({:?}, {:?})", info.backend, info.device_type)
}
