//! The browser's executors: WebGPU ([`crate::gpu::run_gpu_async`]) when the page's adapter is
//! usable, otherwise the CPU ([`crate::exec::run_sequential`]), both on the worker's one thread
//! with an await (a blob read, a buffer map, a sink flush) between chunks, so the worker stays
//! responsive to cancellation. The report says which device merged what.

use serde::Serialize;

use crate::error::Result;
use crate::exec::{run_sequential, ExecHooks};
use crate::io::{Checkpoint, ShardWriter, TensorSource};
use crate::plan::MergePlan;

use super::js_sink::JsSink;

/// Where the person asked the merge to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// WebGPU when an adapter is usable, the CPU otherwise.
    Auto,
    Cpu,
}

impl DeviceChoice {
    /// The page's `device` option: `auto` (or absent, `gpu`) or `cpu`.
    pub fn parse(name: Option<&str>) -> Result<Self> {
        match name {
            None | Some("auto") | Some("gpu") => Ok(DeviceChoice::Auto),
            Some("cpu") => Ok(DeviceChoice::Cpu),
            Some(other) => Err(crate::error::MergeError::config(
                "options.device",
                format!("`{other}` is not a device; use `auto` or `cpu`"),
            )),
        }
    }
}

/// Which device merged, as the page shows it.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceReport {
    /// `webgpu` or `cpu`.
    pub kind: &'static str,
    /// The WebGPU adapter's name, when it merged.
    pub adapter: Option<String>,
    pub tensors_on_gpu: usize,
    pub tensors_on_cpu: usize,
    /// Methods without a GPU kernel, merged on the CPU tensor by tensor.
    pub cpu_methods: Vec<String>,
    /// Why the CPU merged although WebGPU was wanted (no adapter, a device error…).
    pub fallback: Option<String>,
}

/// Merges every tensor of `plan` into `writer` on the chosen device.
pub async fn run<S: TensorSource, H: ExecHooks>(
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<JsSink>,
    chunk_elements: usize,
    device: DeviceChoice,
    hooks: &mut H,
) -> Result<DeviceReport> {
    let mut fallback = None;
    #[cfg(feature = "gpu")]
    if device == DeviceChoice::Auto {
        match super::gpu::context().await {
            Ok(ctx) => {
                let run =
                    crate::gpu::run_gpu_async(&ctx, plan, models, writer, chunk_elements, hooks);
                let report = run.await?;
                return Ok(DeviceReport {
                    kind: "webgpu",
                    adapter: Some(super::gpu::adapter_label(ctx.info())),
                    tensors_on_gpu: report.tensors_on_gpu,
                    tensors_on_cpu: report.tensors_on_cpu,
                    cpu_methods: report.cpu_methods,
                    fallback: report.gpu_failure,
                });
            }
            Err(reason) => fallback = Some(reason),
        }
    }
    #[cfg(not(feature = "gpu"))]
    if device == DeviceChoice::Auto {
        fallback = Some("this build has no WebGPU executor (feature `gpu`)".to_string());
    }
    run_sequential(plan, models, writer, chunk_elements, hooks).await?;
    Ok(DeviceReport {
        kind: "cpu",
        tensors_on_cpu: plan.tensors.len(),
        fallback,
        ..DeviceReport::default()
    })
}
