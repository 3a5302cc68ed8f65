//! Where the worker's inference runs: burn on WebGPU (the worker's adapter, asked for once), or
//! burn's CPU backend (`flex`) when the user chose it or WebGPU is missing or fails — and why.

use serde::Serialize;

use crate::model::{cpu_device, InferenceDevice};
use crate::wasm::DeviceChoice;

/// What the page shows about the device a model was loaded on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceUsed {
    /// `webgpu` or `cpu`.
    pub kind: &'static str,
    pub description: String,
    /// Why WebGPU was not used, when it was wanted.
    pub fallback: Option<String>,
}

#[cfg(feature = "gpu")]
thread_local! {
    /// burn registers one wgpu runtime per worker: the first answer is kept, failure included.
    static WEBGPU: std::cell::RefCell<Option<std::result::Result<InferenceDevice, String>>> =
        const { std::cell::RefCell::new(None) };
}

/// The device for `request`, falling back to the CPU (with the reason) when WebGPU fails.
pub async fn choose(request: DeviceChoice) -> (InferenceDevice, DeviceUsed) {
    let fallback = match request {
        DeviceChoice::Cpu => None,
        DeviceChoice::Auto => match webgpu().await {
            Ok(device) => {
                let used = DeviceUsed {
                    kind: "webgpu",
                    description: device.description.clone(),
                    fallback: None,
                };
                return (device, used);
            }
            Err(reason) => Some(reason),
        },
    };
    let device = cpu_device();
    let used = DeviceUsed {
        kind: "cpu",
        description: format!("{} in WebAssembly", device.description),
        fallback,
    };
    (device, used)
}

#[cfg(feature = "gpu")]
async fn webgpu() -> std::result::Result<InferenceDevice, String> {
    if let Some(known) = WEBGPU.with_borrow(Clone::clone) {
        return known;
    }
    let made = crate::model::gpu_device_async()
        .await
        .map_err(|e| e.to_string());
    WEBGPU.with_borrow_mut(|slot| slot.get_or_insert(made).clone())
}

#[cfg(not(feature = "gpu"))]
async fn webgpu() -> std::result::Result<InferenceDevice, String> {
    Err("this build has no WebGPU inference (feature `gpu`)".to_string())
}
