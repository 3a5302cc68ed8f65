//! The browser's CPU executor: one thread, tensors in file order, chunk by chunk, with an await
//! (a blob read, a sink flush) between chunks so the worker stays responsive to cancellation.
//!
//! The WebGPU executor will take this one's place behind the same signature, with the
//! `wgpu::Device`/`Queue` passed in; everything around it (reading, writing, progress) stays.

use crate::error::{MergeError, Result};
use crate::exec::{gather_statistics, merge_chunk, plan_items, ChunkInputs, Progress};
use crate::io::{Checkpoint, ShardWriter, TensorSource};
use crate::merge::build_merger;
use crate::plan::MergePlan;

use super::js_sink::JsSink;

/// What the executor reports to, and asks, its caller between chunks.
pub trait ExecHooks {
    fn progress(&mut self, progress: Progress);
    fn cancelled(&self) -> bool;
}

/// Merges every tensor of `plan` into `writer`, whose sink is `sink`.
pub async fn run_cpu<S: TensorSource>(
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<JsSink>,
    sink: &JsSink,
    chunk_elements: usize,
    hooks: &mut dyn ExecHooks,
) -> Result<()> {
    let numels: Vec<usize> = plan.tensors.iter().map(|t| t.numel()).collect();
    let (items, _) = plan_items(plan, chunk_elements)?;
    let mut report = Progress {
        bytes_written: 0,
        bytes_total: plan.output_bytes(),
        tensors_done: 0,
        tensors_total: plan.tensors.len(),
    };
    hooks.progress(report);
    let (mut chunk, mut merged, mut encoded) = (ChunkInputs::default(), Vec::new(), Vec::new());
    let mut current = None;
    for item in &items {
        if hooks.cancelled() {
            return Err(MergeError::Cancelled);
        }
        let tensor = &plan.tensors[item.tensor];
        if current
            .as_ref()
            .is_none_or(|(index, _)| *index != item.tensor)
        {
            // Statistics passes (TIES thresholds, DELLA ranks…) read the whole tensor first.
            let mut merger = build_merger(&tensor.recipe)?;
            gather_statistics(models, tensor, merger.as_mut(), chunk_elements).await?;
            current = Some((item.tensor, merger));
        }
        let (_, merger) = current.as_ref().expect("set above");
        chunk.read(models, tensor, item.range.clone()).await?;
        merge_chunk(tensor, merger.as_ref(), &chunk, &mut merged, &mut encoded);
        writer.write(&encoded)?;
        sink.flush().await?;
        report.bytes_written += encoded.len() as u64;
        if item.range.end == numels[item.tensor] {
            report.tensors_done += 1;
        }
        hooks.progress(report);
    }
    Ok(())
}
