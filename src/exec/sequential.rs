//! One tensor after another on the calling thread, chunk by chunk, awaiting every read and
//! `hooks.drain` between chunks: the browser's CPU executor, and the GPU executor's fallback for
//! tensors without a kernel.

use super::inputs::{gather_statistics, merge_chunk, ChunkInputs};
use super::{ExecHooks, Progress};
use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, ShardSink, ShardWriter, TensorSource};
use crate::merge::build_merger;
use crate::plan::{MergePlan, PlannedTensor};

/// Merges every tensor of `plan` into `writer` on the CPU, `chunk_elements` at a time.
pub async fn run_sequential<S, K, H>(
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<K>,
    chunk_elements: usize,
    hooks: &mut H,
) -> Result<()>
where
    S: TensorSource,
    K: ShardSink,
    H: ExecHooks,
{
    let mut progress = Progress::start(plan);
    hooks.progress(progress);
    for tensor in &plan.tensors {
        let cpu = TensorOnCpu { tensor, from: 0 };
        cpu.merge(models, chunk_elements, writer, hooks, &mut progress)
            .await?;
        progress.tensors_done += 1;
        hooks.progress(progress);
    }
    Ok(())
}

/// Elements `from..` of one planned tensor, merged on the CPU (a GPU run resumes a failed
/// tensor where its output stopped).
pub struct TensorOnCpu<'a> {
    pub tensor: &'a PlannedTensor,
    pub from: usize,
}

impl TensorOnCpu<'_> {
    /// Statistics passes over the whole tensor, then the merged chunks into `writer`.
    pub async fn merge<S, K, H>(
        &self,
        models: &[Checkpoint<S>],
        chunk_elements: usize,
        writer: &mut ShardWriter<K>,
        hooks: &mut H,
        progress: &mut Progress,
    ) -> Result<()>
    where
        S: TensorSource,
        K: ShardSink,
        H: ExecHooks,
    {
        let tensor = self.tensor;
        let chunk_elements = chunk_elements.max(1);
        let mut merger = build_merger(&tensor.recipe)?;
        // Statistics passes (TIES thresholds, DELLA ranks…) read the whole tensor first.
        gather_statistics(models, tensor, merger.as_mut(), chunk_elements).await?;
        let align = merger.row_alignment().max(1);
        let step = (chunk_elements / align).max(1) * align;
        let (mut chunk, mut merged, mut encoded) = (ChunkInputs::default(), Vec::new(), Vec::new());
        let numel = tensor.numel();
        let mut start = self.from;
        while start < numel {
            if hooks.cancelled() {
                return Err(MergeError::Cancelled);
            }
            let end = (start + step).min(numel);
            chunk.read(models, tensor, start..end).await?;
            merge_chunk(tensor, merger.as_ref(), &chunk, &mut merged, &mut encoded);
            writer.write(&encoded)?;
            progress.bytes_written += encoded.len() as u64;
            hooks.progress(*progress);
            hooks.drain().await?;
            start = end;
        }
        Ok(())
    }
}
