//! Running a whole plan with the GPU: tensors in file order, each merged by its kernel, or on
//! the CPU when no kernel merges it yet (said once per method). A GPU failure mid-merge moves
//! the rest of the merge to the CPU, resuming the failed tensor where its output stopped.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::kernels::has_kernel;
use super::tensor::{merge_tensor, GpuTensor, SlotReader};
use super::GpuContext;
use crate::error::{MergeError, Result};
use crate::exec::{gather_statistics, merge_chunk, ChunkInputs, ExecOptions, Progress};
use crate::io::{Checkpoint, ShardSink, ShardWriter, TensorSource};
use crate::merge::build_merger;
use crate::plan::{MergePlan, PlannedTensor};

/// Merges every tensor of `plan` into `writer`, like [`crate::exec::run_native`], on `ctx`.
pub fn run_gpu<S, K>(
    ctx: &GpuContext,
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<K>,
    options: &ExecOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<()>
where
    S: TensorSource + Sync,
    K: ShardSink,
{
    let mut report = Progress {
        bytes_written: 0,
        bytes_total: plan.output_bytes(),
        tensors_done: 0,
        tensors_total: plan.tensors.len(),
    };
    let mut announced = BTreeSet::new();
    let mut gpu_usable = true;
    for tensor in &plan.tensors {
        if cancel.load(Ordering::SeqCst) {
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
        if gpu_usable && has_kernel(&job) {
            let mut reader = ModelReader {
                models,
                tensor,
                failed: None,
            };
            let mut sink_failed = None;
            let result = merge_tensor(ctx, &job, &mut reader, &mut |bytes| {
                writer
                    .write(bytes)
                    .inspect_err(|e| sink_failed = Some(e.to_string()))?;
                done += bytes.len() / tensor.output.dtype.size();
                report.bytes_written += bytes.len() as u64;
                progress(report);
                Ok(())
            });
            match result {
                Ok(()) => {}
                Err(e) if reader.failed.is_some() || sink_failed.is_some() => return Err(e),
                Err(e) => {
                    eprintln!("mixmerge: gpu failed ({e}); the rest of the merge runs on the CPU");
                    gpu_usable = false;
                }
            }
        } else if gpu_usable && announced.insert(tensor.recipe.method.key()) {
            eprintln!(
                "mixmerge: gpu: no kernel for `{}` yet; its tensors merge on the CPU",
                tensor.recipe.method.key()
            );
        }
        if done < tensor.numel() || tensor.numel() == 0 {
            merge_on_cpu(tensor, models, done, options, &mut |bytes| {
                report.bytes_written += bytes.len() as u64;
                writer.write(bytes)?;
                progress(report);
                Ok(())
            })?;
        }
        report.tensors_done += 1;
        progress(report);
    }
    Ok(())
}

/// The CPU executor's steps for one tensor, from element `from` on.
fn merge_on_cpu<S: TensorSource>(
    tensor: &PlannedTensor,
    models: &[Checkpoint<S>],
    from: usize,
    options: &ExecOptions,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut merger = build_merger(&tensor.recipe)?;
    let chunk_elements = options.chunk_elements.max(1);
    pollster::block_on(gather_statistics(
        models,
        tensor,
        merger.as_mut(),
        chunk_elements,
    ))?;
    let align = merger.row_alignment().max(1);
    let step = (chunk_elements / align).max(1) * align;
    let (mut chunk, mut merged, mut bytes) = (ChunkInputs::default(), Vec::new(), Vec::new());
    let numel = tensor.numel();
    let mut start = from;
    while start < numel {
        let end = (start + step).min(numel);
        pollster::block_on(chunk.read(models, tensor, start..end))?;
        merge_chunk(tensor, merger.as_ref(), &chunk, &mut merged, &mut bytes);
        sink(&bytes)?;
        start = end;
    }
    Ok(())
}

/// Reads a planned tensor's slots (base first) from the checkpoints.
struct ModelReader<'a, S> {
    models: &'a [Checkpoint<S>],
    tensor: &'a PlannedTensor,
    failed: Option<String>,
}

impl<S: TensorSource> SlotReader for ModelReader<'_, S> {
    fn read(&mut self, slot: usize, range: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        let input = self
            .tensor
            .base
            .iter()
            .chain(&self.tensor.inputs)
            .nth(slot)
            .expect("slot of the planned tensor");
        out.resize(range.len() * input.dtype.size(), 0);
        let checkpoint = &self.models[input.model];
        pollster::block_on(checkpoint.read_elements(&input.tensor, range.start, range.len(), out))
            .inspect_err(|e| self.failed = Some(e.to_string()))
    }
}
