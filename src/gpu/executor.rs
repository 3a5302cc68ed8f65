//! Running a whole plan with the GPU: tensors in file order, each merged by its kernel, or on
//! the CPU when no kernel merges it yet (said once per method). A GPU failure mid-merge moves
//! the rest of the merge to the CPU, resuming the failed tensor where its output stopped.
//! One async body serves both callers: natively under `pollster` (src/gpu/native.rs, which
//! also reads ahead), in the browser awaited.

use std::ops::Range;

use super::kernels::plan::has_kernel;
use crate::error::{MergeError, Result};
use crate::exec::{ExecHooks, Progress, TensorOnCpu};
use crate::gpu::runtime::buffers::slot_region;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::source::MappedSlot;
use crate::gpu::runtime::source::SlotRead;
use crate::gpu::runtime::source::SlotReader;
use crate::gpu::tensor::merge_tensor;
use crate::io::{Checkpoint, ShardSink, ShardWriter, TensorSource};
use crate::merge::build_merger;
use crate::plan::{InputRef, MergePlan, PlannedTensor};

/// Where the tensors of a GPU run were merged, for the caller to tell the person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuRunReport {
    pub tensors_on_gpu: usize,
    pub tensors_on_cpu: usize,
    /// Methods without a kernel, whose tensors merged on the CPU.
    pub cpu_methods: Vec<String>,
    /// Why the GPU was given up mid-merge, when it was.
    pub gpu_failure: Option<String>,
}

/// [`super::run_gpu`] for callers that await (the browser worker): reads, read-backs and `hooks.drain`
/// are awaited, nothing blocks. CPU fallbacks read `chunk_elements` at a time.
pub async fn run_gpu_async<S, K, H>(
    ctx: &GpuContext,
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<K>,
    chunk_elements: usize,
    hooks: &mut H,
) -> Result<GpuRunReport>
where
    S: TensorSource,
    K: ShardSink,
    H: ExecHooks,
{
    let mut nothing = NothingAhead;
    let run = run_tensors(
        ctx,
        plan,
        models,
        writer,
        chunk_elements,
        hooks,
        &mut nothing,
    );
    let report = run.await;
    ctx.release_scratch();
    report
}

/// Tensors read whole before the executor gets to them (natively, by a thread).
pub(crate) trait ReadAhead {
    /// The slots of tensor `index`, when they were read ahead.
    fn take(&mut self, index: usize) -> Option<Vec<Vec<u8>>>;

    /// Hands bytes from [`ReadAhead::take`] back once uploaded, to read into again.
    fn recycle(&mut self, bytes: Vec<u8>);
}

/// The browser's: tensors are read when merged.
struct NothingAhead;

impl ReadAhead for NothingAhead {
    fn take(&mut self, _index: usize) -> Option<Vec<Vec<u8>>> {
        None
    }

    fn recycle(&mut self, _bytes: Vec<u8>) {}
}

/// The executor both callers share: every tensor of `plan`, slots read ahead taken from `ahead`.
pub(crate) async fn run_tensors<S, K, H>(
    ctx: &GpuContext,
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<K>,
    chunk_elements: usize,
    hooks: &mut H,
    ahead: &mut dyn ReadAhead,
) -> Result<GpuRunReport>
where
    S: TensorSource,
    K: ShardSink,
    H: ExecHooks,
{
    let mut progress = Progress::start(plan);
    hooks.progress(progress);
    let mut report = GpuRunReport::default();
    for (index, tensor) in plan.tensors.iter().enumerate() {
        if hooks.cancelled() {
            return Err(MergeError::Cancelled);
        }
        // Same validation (and errors) as the CPU path.
        build_merger(&tensor.recipe)?;
        let job = GpuTensor::new(
            &tensor.recipe,
            tensor.base.as_ref().map(|b| b.dtype),
            tensor.inputs.iter().map(|i| i.dtype).collect(),
            tensor.output.dtype,
        );
        let mut done = 0usize;
        if report.gpu_failure.is_none() && has_kernel(&job) {
            let held = if held_whole(tensor, ctx.binding_limit()) {
                ahead.take(index)
            } else {
                None
            };
            let mut reader = ModelReader {
                models,
                tensor,
                held: held.unwrap_or_default().into_iter().map(Some).collect(),
                ahead: &mut *ahead,
                failed: None,
            };
            let mut sink_failed = None;
            let result = merge_tensor(ctx, &job, &mut reader, &mut |bytes| {
                if hooks.cancelled() {
                    sink_failed = Some("cancelled".into());
                    return Err(MergeError::Cancelled);
                }
                writer
                    .write(bytes)
                    .inspect_err(|e| sink_failed = Some(e.to_string()))?;
                done += bytes.len() / tensor.output.dtype.size();
                progress.bytes_written += bytes.len() as u64;
                hooks.progress(progress);
                Ok(())
            })
            .await;
            match result {
                Ok(()) => {}
                Err(e) if reader.failed.is_some() || sink_failed.is_some() => return Err(e),
                Err(e) => {
                    hooks.notice(&format!(
                        "gpu failed ({e}); the rest of the merge runs on the CPU"
                    ));
                    report.gpu_failure = Some(e.to_string());
                }
            }
            hooks.drain().await?;
        } else if report.gpu_failure.is_none() {
            let method = tensor.recipe.method.key().to_string();
            if !report.cpu_methods.contains(&method) {
                hooks.notice(&format!(
                    "gpu: no kernel for `{method}` yet; its tensors merge on the CPU"
                ));
                report.cpu_methods.push(method);
            }
        }
        if done == tensor.numel() && tensor.numel() > 0 {
            report.tensors_on_gpu += 1;
        } else {
            report.tensors_on_cpu += 1;
            let cpu = TensorOnCpu { tensor, from: done };
            cpu.merge(models, chunk_elements, writer, hooks, &mut progress)
                .await?;
        }
        progress.tensors_done += 1;
        hooks.progress(progress);
    }
    Ok(report)
}

/// Whether the executor merges `tensor` on the GPU holding all of its slots at once (within
/// one binding of `limit` bytes): the tensors worth reading ahead.
pub(crate) fn held_whole(tensor: &PlannedTensor, limit: u64) -> bool {
    let slots: Vec<_> = tensor.base.iter().chain(&tensor.inputs).collect();
    let bytes: u64 = (slots.iter())
        .map(|s| slot_region(tensor.numel(), s.dtype))
        .sum();
    let job = GpuTensor::new(
        &tensor.recipe,
        tensor.base.as_ref().map(|b| b.dtype),
        tensor.inputs.iter().map(|i| i.dtype).collect(),
        tensor.output.dtype,
    );
    tensor.numel() > 0 && bytes <= limit && has_kernel(&job)
}

/// Reads a planned tensor's slots (base first) from the checkpoints.
struct ModelReader<'a, S> {
    models: &'a [Checkpoint<S>],
    tensor: &'a PlannedTensor,
    /// Slots read ahead, whole; empty when none were.
    held: Vec<Option<Vec<u8>>>,
    ahead: &'a mut dyn ReadAhead,
    failed: Option<String>,
}

impl<'a, S> ModelReader<'a, S> {
    /// The input read into `slot` (the base first when present).
    fn slot_input(&self, slot: usize) -> &'a InputRef {
        (self.tensor.base.iter())
            .chain(&self.tensor.inputs)
            .nth(slot)
            .expect("slot of the planned tensor")
    }
}

impl<S> Drop for ModelReader<'_, S> {
    fn drop(&mut self) {
        for bytes in self.held.drain(..).flatten() {
            self.ahead.recycle(bytes);
        }
    }
}

impl<S: TensorSource> SlotReader for ModelReader<'_, S> {
    fn read<'a>(
        &'a mut self,
        slot: usize,
        range: Range<usize>,
        out: &'a mut Vec<u8>,
    ) -> SlotRead<'a> {
        Box::pin(async move {
            let input = self.slot_input(slot);
            let size = input.dtype.size();
            if let Some(Some(held)) = self.held.get(slot) {
                out.clear();
                out.extend_from_slice(&held[range.start * size..range.end * size]);
                return Ok(());
            }
            out.resize(range.len() * size, 0);
            let checkpoint = &self.models[input.model];
            checkpoint
                .read_elements(&input.tensor, range.start, range.len(), out)
                .await
                .inspect_err(|e| self.failed = Some(e.to_string()))
        })
    }

    fn take_whole(&mut self, slot: usize) -> Option<Vec<u8>> {
        self.held.get_mut(slot)?.take()
    }

    fn recycle(&mut self, bytes: Vec<u8>) {
        self.ahead.recycle(bytes);
    }

    fn mapped_whole(&mut self, slot: usize) -> Result<Option<MappedSlot<'_>>> {
        let input = self.slot_input(slot);
        let numel = self.tensor.numel();
        let view = self.models[input.model]
            .mapped_elements(&input.tensor, 0, numel)
            .inspect_err(|e| self.failed = Some(e.to_string()))?;
        Ok(view.map(|bytes| Box::new(bytes) as MappedSlot<'_>))
    }
}
