//! The worker's WebGPU device: requested once (the adapter's own limits), then shared by every
//! merge. A binding cap keeps each chunk's reads and read-backs small, so page memory stays flat
//! whatever the model size.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;

use crate::gpu::{request_web, GpuContext};

/// Bytes of one storage binding at most: a chunk holds every uploaded slot within it. Each chunk
/// passes through wasm and JS buffers a few times (and JS frees them lazily): 16 MiB peaked at
/// 440 MB of page memory in the 135M TIES merge.
const WEB_BINDING_BYTES: u64 = 4 << 20;

thread_local! {
    static CONTEXT: RefCell<Option<std::result::Result<Rc<GpuContext>, String>>> =
        const { RefCell::new(None) };
}

/// The shared context, or why there is none (no `navigator.gpu`, no adapter, a device error).
pub async fn context() -> std::result::Result<Rc<GpuContext>, String> {
    if let Some(known) = CONTEXT.with_borrow(Clone::clone) {
        return known;
    }
    let made = match request_web().await {
        Ok(Some(ctx)) => Ok(Rc::new(ctx.with_binding_limit(WEB_BINDING_BYTES))),
        Ok(None) => Err("this browser offers no WebGPU adapter".to_string()),
        Err(e) => Err(format!("WebGPU failed: {e}")),
    };
    CONTEXT.with_borrow_mut(|slot| slot.get_or_insert(made).clone())
}

/// What the page shows before a merge.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuStatus {
    pub available: bool,
    /// The adapter's name, or why WebGPU is unusable.
    pub detail: String,
    pub binding_limit: Option<u64>,
}

pub async fn status() -> GpuStatus {
    match context().await {
        Ok(ctx) => GpuStatus {
            available: true,
            detail: adapter_label(ctx.info()),
            binding_limit: Some(ctx.binding_limit()),
        },
        Err(reason) => GpuStatus {
            available: false,
            detail: reason,
            binding_limit: None,
        },
    }
}

/// The adapter as the page names it: browsers hide the description unless asked (Chromium's
/// `--enable-webgpu-developer-features`), so say at least whether it is a software one.
pub fn adapter_label(info: &wgpu::AdapterInfo) -> String {
    let software = info.device_type == wgpu::DeviceType::Cpu;
    match (info.name.is_empty(), software) {
        (false, _) => info.name.clone(),
        (true, true) => "a software adapter".to_string(),
        (true, false) => "the browser's adapter".to_string(),
    }
}
