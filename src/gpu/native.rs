//! The native GPU merge: the async executor under `pollster`, with a thread reading the next
//! held tensor while the GPU merges the current one.

use std::sync::atomic::{AtomicBool, Ordering};

use super::executor::run_tensors;
use super::prefetch::Ahead;
use crate::error::Result;
use crate::exec::{ExecHooks, ExecOptions, Progress};
use crate::gpu::runtime::context::GpuContext;
use crate::io::{Checkpoint, ShardSink, ShardWriter, TensorSource};
use crate::plan::MergePlan;

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
    let mut hooks = NativeHooks { cancel, progress };
    let chunk_elements = options.chunk_elements;
    let run = std::thread::scope(|scope| {
        let mut ahead = Ahead::start(scope, plan, models, ctx.binding_limit(), cancel);
        let run = run_tensors(
            ctx,
            plan,
            models,
            writer,
            chunk_elements,
            &mut hooks,
            &mut ahead,
        );
        pollster::block_on(run)
    });
    ctx.release_scratch();
    run.map(|_| ())
}

/// The native caller's flag and progress callback; notices go to stderr.
struct NativeHooks<'a> {
    cancel: &'a AtomicBool,
    progress: &'a mut dyn FnMut(Progress),
}

impl ExecHooks for NativeHooks<'_> {
    fn progress(&mut self, progress: Progress) {
        (self.progress)(progress);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    fn notice(&mut self, message: &str) {
        eprintln!("mixmerge: {message}");
    }

    async fn drain(&mut self) -> Result<()> {
        Ok(())
    }
}
