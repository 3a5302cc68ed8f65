//! Reused device buffers of one tensor merge, grown on demand, and the dispatch/read-back steps.

use std::ops::Range;
use std::sync::Arc;

use super::device::gpu_error;
use super::device::GpuDevice;
use super::params::Params;
use super::shaders::Kernel;
use super::source::SlotReader;
#[cfg(not(target_arch = "wasm32"))]
use super::staging::Staging;
use crate::dtype::DType;
use crate::error::Result;

/// A buffer that grows (never shrinks) to the largest size asked of it. Replaced and dropped
/// buffers are destroyed at once: on the web a dropped `GPUBuffer` keeps its memory until the
/// page's garbage collector finds the handle, which a merge of many tensors outruns.
struct Growable {
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl Growable {
    fn new(usage: wgpu::BufferUsages) -> Self {
        Growable {
            usage,
            buffer: None,
        }
    }

    fn get(&mut self, device: &wgpu::Device, size: u64) -> &wgpu::Buffer {
        if let Some(old) = self.grow(device, size) {
            // Work already submitted with the old buffer still completes (destroy waits for it).
            old.destroy();
        }
        self.buffer.as_ref().expect("just created")
    }

    /// Like `get`, but the first `keep` bytes survive a growth (copied on the GPU).
    fn get_keeping(&mut self, ctx: &GpuDevice, size: u64, keep: u64) -> &wgpu::Buffer {
        if let Some(old) = self.grow(&ctx.device, size) {
            if keep > 0 {
                let grown = self.buffer.as_ref().expect("just created");
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                encoder.copy_buffer_to_buffer(&old, 0, grown, 0, keep.next_multiple_of(4));
                ctx.queue.submit([encoder.finish()]);
            }
            old.destroy();
        }
        self.buffer.as_ref().expect("just created")
    }

    /// Replaces the buffer by one of at least `size` bytes when it is smaller; returns the old.
    fn grow(&mut self, device: &wgpu::Device, size: u64) -> Option<wgpu::Buffer> {
        let size = size.max(16).next_multiple_of(16);
        if self.buffer.as_ref().is_some_and(|b| b.size() >= size) {
            return None;
        }
        let grown = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: self.usage,
            mapped_at_creation: false,
        });
        self.buffer.replace(grown)
    }
}

impl Drop for Growable {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            buffer.destroy();
        }
    }
}

/// One dispatch of [`Scratch::run`]: what `dispatch_checked` and `dispatch` pass down.
/// One kernel run: what the pipeline is, what its bindings hold and what comes back.
#[derive(Clone, Copy)]
pub struct Dispatch<'a> {
    pub kernel: Kernel,
    /// The output dtype, which picks the pipeline variant.
    pub out: DType,
    pub params: &'a Params,
    /// Bytes of binding 1 in use (the uploaded slots and scratch regions).
    pub input_bytes: u64,
    pub workgroups: u32,
    /// Bytes of binding 2 (for [`Scratch::run_into`]: the bytes handed to the sink).
    pub result_bytes: u64,
    /// Binding 2 is zeroed before the kernel runs.
    pub clear: bool,
    /// Bytes of binding 2 [`Scratch::run`] reads back (none when 0).
    pub read_bytes: u64,
}

/// The buffers behind the three bindings (params, inputs, result) and the read-back staging,
/// reused tensor after tensor (see [`GpuContext::take_scratch`]).
pub struct Scratch {
    params: Growable,
    inputs: Growable,
    result: Growable,
    readback: Growable,
    /// The second read-back buffer of [`Scratch::run_into`].
    readback_spare: Growable,
    /// Work was submitted since the last wait or read-back (see [`Scratch::settle`]).
    unsettled: bool,
    /// Leading bytes of the input buffer still to be read by kernels (kept when it grows).
    live: u64,
    /// The whole tensor held in the input buffer, when it fits one binding.
    resident: Option<Resident>,
    #[cfg(not(target_arch = "wasm32"))]
    staging: Staging,
}

/// Every slot of one tensor in the input buffer, uploaded once for all of its passes: the
/// statistics passes of TIES or DELLA would otherwise read and upload each input again.
#[derive(Debug, Clone)]
pub struct Resident {
    /// Byte offset and element size of each tensor slot.
    slots: Vec<(u64, usize)>,
    numel: usize,
    /// Bytes the slots take; a pass's scratch regions go after them.
    pub bytes: u64,
}

impl Resident {
    /// The word where elements `range` of tensor slot `slot` start, unless they start off a
    /// 16-byte mark (where element-wise kernels load from).
    pub fn word_of(&self, slot: usize, range: &Range<usize>) -> Option<u32> {
        let (offset, size) = self.slots[slot];
        let at = offset + (range.start * size) as u64;
        (range.end <= self.numel && at % 16 == 0).then_some((at / 4) as u32)
    }
}

/// Bytes a slot of `numel` elements in `dtype` takes in the input buffer: its own, padded to a
/// 16-byte mark so the next slot starts at one (see [`Params::check_quad_aligned`]).
pub fn slot_region(numel: usize, dtype: DType) -> u64 {
    (numel * dtype.size()).next_multiple_of(16) as u64
}

impl Default for Scratch {
    fn default() -> Self {
        use wgpu::BufferUsages as U;
        Scratch {
            params: Growable::new(U::STORAGE | U::COPY_DST),
            inputs: Growable::new(U::STORAGE | U::COPY_DST | U::COPY_SRC),
            result: Growable::new(U::STORAGE | U::COPY_SRC | U::COPY_DST),
            readback: Growable::new(U::MAP_READ | U::COPY_DST),
            readback_spare: Growable::new(U::MAP_READ | U::COPY_DST),
            unsettled: false,
            live: 0,
            resident: None,
            #[cfg(not(target_arch = "wasm32"))]
            staging: Staging::default(),
        }
    }
}

/// A grid of `n` workgroups within the per-dimension limit (2-D beyond it).
pub fn grid(n: u32, max_per_dimension: u32) -> (u32, u32) {
    let n = n.max(1);
    let x = n.min(max_per_dimension.max(1));
    (x, n.div_ceil(x))
}

impl Scratch {
    /// In the browser, waits until the GPU has run what was submitted without a read-back (a
    /// histogram pass over many chunks): each `write_buffer` is staged until the GPU runs past
    /// it, so uploading a whole tensor ahead of a slow GPU (SwiftShader) would stage all of it.
    /// Natively wgpu's staging is freed as the queue runs; nothing to wait for.
    pub async fn settle(&mut self, ctx: &GpuDevice) -> Result<()> {
        if !std::mem::take(&mut self.unsettled) {
            return Ok(());
        }
        #[cfg(target_arch = "wasm32")]
        {
            let (sender, receiver) = oneshot::channel();
            ctx.queue.on_submitted_work_done(move || {
                let _ = sender.send(());
            });
            receiver
                .await
                .map_err(|e| gpu_error("waiting for the queue", e))?;
        }
        ctx.check()
    }

    /// Writes `bytes` (a multiple of 4) at `offset` of the input buffer, which holds `total`.
    pub fn write_inputs(&mut self, ctx: &GpuDevice, total: u64, offset: u64, bytes: &[u8]) {
        let buffer = self.inputs.get_keeping(ctx, total, self.live);
        ctx.queue.write_buffer(buffer, offset, bytes);
        self.live = self.live.max(offset + bytes.len() as u64);
    }

    /// Writes each `(offset, bytes)` (whole words) into the input buffer, which holds `total`:
    /// natively through the staging ring (a `write_buffer` of a chunk would allocate and pin
    /// fresh staging memory as large as the chunk), on the web by `write_buffer`.
    pub fn write_slots(
        &mut self,
        ctx: &GpuDevice,
        total: u64,
        writes: &[(u64, &[u8])],
    ) -> Result<()> {
        let buffer = self.inputs.get_keeping(ctx, total, self.live).clone();
        #[cfg(not(target_arch = "wasm32"))]
        {
            let mut upload = self.staging.upload(ctx, &buffer);
            for &(offset, bytes) in writes {
                upload.write(offset, bytes)?;
            }
            upload.finish();
        }
        #[cfg(target_arch = "wasm32")]
        for &(offset, bytes) in writes {
            ctx.queue.write_buffer(&buffer, offset, bytes);
        }
        let end = writes
            .iter()
            .map(|&(offset, bytes)| offset + bytes.len() as u64);
        self.live = self.live.max(end.max().unwrap_or(0));
        Ok(())
    }

    /// Grows the input buffer to `total` bytes, keeping what kernels still read.
    pub fn reserve_inputs(&mut self, ctx: &GpuDevice, total: u64) {
        self.inputs.get_keeping(ctx, total, self.live);
    }

    /// The input buffer's contents no longer matter: the next upload starts afresh.
    pub fn forget_inputs(&mut self) {
        self.live = 0;
        self.resident = None;
    }

    pub fn resident(&self) -> Option<&Resident> {
        self.resident.as_ref()
    }

    /// Uploads every slot (dtypes `slots`) of a `numel`-element tensor at once when together,
    /// with `extra` bytes per element after them, they fit one binding; returns whether they did. Chunk uploads of this tensor then take
    /// their elements from there (see `Chunker::upload`) until [`Scratch::forget_inputs`].
    pub async fn hold_tensor(
        &mut self,
        ctx: &GpuDevice,
        reader: &mut dyn SlotReader,
        slots: &[DType],
        numel: usize,
        extra: usize,
    ) -> Result<bool> {
        self.forget_inputs();
        let mut offsets = Vec::with_capacity(slots.len());
        let mut bytes = 0u64;
        for dtype in slots {
            offsets.push((bytes, dtype.size()));
            bytes += slot_region(numel, *dtype);
        }
        if numel == 0 || bytes + (numel * extra) as u64 > ctx.binding_limit() {
            return Ok(false);
        }
        #[cfg(not(target_arch = "wasm32"))]
        let inputs = self.inputs.get(&ctx.device, bytes).clone();
        #[cfg(not(target_arch = "wasm32"))]
        let mut upload = self.staging.upload(ctx, &inputs);
        let mut raw = Vec::new();
        for (slot, &(offset, size)) in offsets.iter().enumerate() {
            let whole = reader.take_whole(slot);
            // Natively a mapped shard is copied once, straight into the staging ring.
            #[cfg(not(target_arch = "wasm32"))]
            if whole.is_none() {
                if let Some(mapped) = reader.mapped_whole(slot)? {
                    upload.write(offset, &mapped)?;
                    continue;
                }
            }
            let (mut read, held) = match whole {
                Some(held) if held.len() == numel * size => (held, true),
                _ => {
                    reader.read(slot, 0..numel, &mut raw).await?;
                    (std::mem::take(&mut raw), false)
                }
            };
            read.resize((numel * size).next_multiple_of(4), 0);
            #[cfg(not(target_arch = "wasm32"))]
            upload.write(offset, &read)?;
            #[cfg(target_arch = "wasm32")]
            self.write_inputs(ctx, bytes, offset, &read);
            if held {
                reader.recycle(read);
            } else {
                raw = read;
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            upload.finish();
            self.live = bytes;
        }
        self.resident = Some(Resident {
            slots: offsets,
            numel,
            bytes,
        });
        Ok(true)
    }

    /// Copies `bytes` of binding 2 from `from` into the input buffer at `to`, for a later kernel
    /// that reads what this one computed (the input buffer must already hold `to + bytes`).
    pub fn keep_result(&mut self, ctx: &GpuDevice, from: u64, to: u64, bytes: u64) {
        let (Some(result), Some(inputs)) = (&self.result.buffer, &self.inputs.buffer) else {
            return;
        };
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(result, from, inputs, to, bytes);
        ctx.queue.submit([encoder.finish()]);
        self.unsettled = true;
        self.live = self.live.max(to + bytes);
    }

    /// Runs `dispatch` and returns binding 2's first `read_bytes` bytes. A device error
    /// (validation, out of memory) fails the call, so the executor can merge on the CPU instead.
    pub async fn run(&mut self, ctx: &GpuDevice, dispatch: &Dispatch<'_>) -> Result<Vec<u8>> {
        let readback = self.dispatch_checked(ctx, dispatch).await?;
        match readback {
            Some((buffer, bytes)) => read_back(ctx, &buffer, bytes, |b| b.to_vec()).await,
            None => Ok(Vec::new()),
        }
    }

    /// [`Scratch::run`] of an apply kernel: its first `out_bytes` of binding 2 go to `sink`
    /// straight from two mapped read-back buffers of `GpuDevice::transfer_bytes`, in turn: the GPU
    /// copies the next piece while `sink` takes this one, and the read-back memory stays
    /// small however large the tensor (a 1B model's embedding is 525 MB of bf16).
    pub async fn run_into(
        &mut self,
        ctx: &GpuDevice,
        dispatch: &Dispatch<'_>,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let out_bytes = dispatch.result_bytes;
        let words = out_bytes.next_multiple_of(4);
        let dispatch = Dispatch {
            result_bytes: words,
            clear: false,
            read_bytes: 0,
            ..*dispatch
        };
        self.dispatch_checked(ctx, &dispatch).await?;
        let result = self.result.buffer.clone().expect("bound by the dispatch");
        let step = ctx.transfer_bytes();
        let pieces: Vec<Range<u64>> = (0..words)
            .step_by(step as usize)
            .map(|start| start..(start + step).min(words))
            .collect();
        let piece_bytes = step.min(words);
        let buffers = [
            self.readback.get(&ctx.device, piece_bytes).clone(),
            self.readback_spare.get(&ctx.device, piece_bytes).clone(),
        ];
        let copy = |k: usize| {
            let piece = &pieces[k];
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            let to = &buffers[k % 2];
            encoder.copy_buffer_to_buffer(&result, piece.start, to, 0, piece.end - piece.start);
            ctx.queue.submit([encoder.finish()]);
        };
        for k in 0..pieces.len().min(2) {
            copy(k);
        }
        for (k, piece) in pieces.iter().enumerate() {
            let valid = (piece.end.min(out_bytes) - piece.start) as usize;
            let bytes = piece.end - piece.start;
            read_back(ctx, &buffers[k % 2], bytes, |b| sink(&b[..valid])).await??;
            if k + 2 < pieces.len() {
                copy(k + 2);
            }
        }
        self.unsettled = false;
        Ok(())
    }

    /// [`Scratch::dispatch`] inside error scopes: a device error (validation, out of memory)
    /// fails the call, so the executor can merge on the CPU instead.
    async fn dispatch_checked(
        &mut self,
        ctx: &GpuDevice,
        dispatch: &Dispatch<'_>,
    ) -> Result<Option<(wgpu::Buffer, u64)>> {
        use wgpu::ErrorFilter::{OutOfMemory, Validation};
        let scopes = [OutOfMemory, Validation].map(|f| ctx.device.push_error_scope(f));
        let readback = self.dispatch(ctx, dispatch);
        for scope in scopes.into_iter().rev() {
            if let Some(error) = scope.pop().await {
                return Err(gpu_error(&format!("running {:?}", dispatch.kernel), error));
            }
        }
        Ok(readback)
    }

    /// Encodes and submits one dispatch (and the copy to the staging buffer when `read_bytes`
    /// is not 0); returns the staging buffer and how many of its bytes to read.
    fn dispatch(
        &mut self,
        ctx: &GpuDevice,
        dispatch: &Dispatch<'_>,
    ) -> Option<(wgpu::Buffer, u64)> {
        let &Dispatch {
            workgroups,
            result_bytes,
            clear,
            read_bytes,
            ..
        } = dispatch;
        let device = &ctx.device;
        let (pipeline, bind_group, result) = self.bind(ctx, dispatch);
        let mut encoder = device.create_command_encoder(&Default::default());
        if clear {
            encoder.clear_buffer(&result, 0, Some(result_bytes.next_multiple_of(4)));
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            let (x, y) = grid(
                workgroups,
                device.limits().max_compute_workgroups_per_dimension,
            );
            pass.dispatch_workgroups(x, y, 1);
        }
        let read_bytes = read_bytes.next_multiple_of(4);
        if read_bytes == 0 {
            ctx.queue.submit([encoder.finish()]);
            self.unsettled = true;
            return None;
        }
        let readback = self.readback.get(device, read_bytes).clone();
        encoder.copy_buffer_to_buffer(&result, 0, &readback, 0, read_bytes);
        ctx.queue.submit([encoder.finish()]);
        // The read-back waits for this submission, and so for everything before it.
        self.unsettled = false;
        Some((readback, read_bytes))
    }

    /// Records `repeats` dispatches of `kernel` (as [`Scratch::run`] runs it, params written
    /// once) in one compute pass and submits them together, for the benchmark: one submission's
    /// overhead spread over many dispatches leaves the device's time. Does not wait.
    pub fn run_repeated(&mut self, ctx: &GpuDevice, dispatch: &Dispatch<'_>, repeats: usize) {
        let device = &ctx.device;
        let (pipeline, bind_group, _) = self.bind(ctx, dispatch);
        let (x, y) = grid(
            dispatch.workgroups,
            device.limits().max_compute_workgroups_per_dimension,
        );
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            for _ in 0..repeats {
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        self.unsettled = true;
    }

    /// Writes `params` and binds the three buffers for `kernel`'s pipeline variant; returns the
    /// pipeline, the bind group and the result buffer.
    fn bind(
        &mut self,
        ctx: &GpuDevice,
        dispatch: &Dispatch<'_>,
    ) -> (Arc<wgpu::ComputePipeline>, wgpu::BindGroup, wgpu::Buffer) {
        let &Dispatch {
            kernel,
            out,
            params,
            input_bytes,
            result_bytes,
            ..
        } = dispatch;
        let device = &ctx.device;
        let params_bytes = params.bytes();
        let params_buffer = self.params.get(device, params_bytes.len() as u64);
        ctx.queue.write_buffer(params_buffer, 0, &params_bytes);
        let params_buffer = params_buffer.clone();
        // Element-wise kernels move 16-byte words: their slots start at 16-byte marks, and
        // both bindings they load or store whole words of end at one.
        let quads = kernel.is_elementwise();
        let (input_bytes, result_bytes) = if quads {
            params.check_quad_aligned();
            (
                input_bytes.max(16).next_multiple_of(16),
                result_bytes.max(16).next_multiple_of(16),
            )
        } else {
            (input_bytes.max(4), result_bytes.max(4))
        };
        let inputs = self.inputs.get_keeping(ctx, input_bytes, self.live).clone();
        let result = self.result.get(device, result_bytes).clone();
        let pipeline = ctx.pipelines.get(device, kernel, out, params);
        let mut entries = vec![
            entry(0, &params_buffer, params_bytes.len() as u64),
            entry(1, &inputs, input_bytes),
            entry(2, &result, result_bytes),
        ];
        if quads {
            entries.push(entry(3, &inputs, input_bytes));
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        (pipeline, bind_group, result)
    }
}

/// `take` of the first `bytes` of a mappable buffer, once the GPU is done writing them.
async fn read_back<R>(
    ctx: &GpuDevice,
    buffer: &wgpu::Buffer,
    bytes: u64,
    take: impl FnOnce(&[u8]) -> R,
) -> Result<R> {
    let slice = buffer.slice(..bytes);
    let (sender, receiver) = oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = sender.send(r);
    });
    // Natively the callback runs inside a poll, and a lost device may never call back: after
    // the wait, no answer is a failure. On the web the browser resolves the map between tasks
    // (rejecting it when the device is lost), so the web path only awaits: a blocking poll
    // there would never return.
    #[cfg(not(target_arch = "wasm32"))]
    let mapped = {
        ctx.wait()?;
        // A lost device may never call back: after the wait, no answer is a failure — after a
        // grace period, since another thread polling the shared device may be delivering it.
        receiver
            .recv_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| gpu_error("reading back", e))?
    };
    #[cfg(target_arch = "wasm32")]
    let mapped = receiver.await.map_err(|e| gpu_error("reading back", e))?;
    mapped.map_err(|e| gpu_error("reading back", e))?;
    let mapped = slice
        .get_mapped_range()
        .map_err(|e| gpu_error("reading back", e))?;
    let taken = take(&mapped);
    drop(mapped);
    buffer.unmap();
    ctx.check()?;
    Ok(taken)
}

fn entry(binding: u32, buffer: &wgpu::Buffer, size: u64) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: 0,
            size: std::num::NonZeroU64::new(size.next_multiple_of(4)),
        }),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::gpu::runtime::context::test_context;
    use crate::gpu::runtime::params::Slot;

    /// A binding beyond the device's limit is a validation error: it must come back as an
    /// error the executor can fall back from, not reach wgpu's panicking default handler.
    #[test]
    fn a_device_error_fails_the_dispatch_instead_of_panicking() {
        let Some(ctx) = test_context() else {
            return;
        };
        let too_large = ctx.device.limits().max_storage_buffer_binding_size + 4;
        let params = Params {
            header: Default::default(),
            slots: vec![Slot::new(0)],
        };
        let mut scratch = Scratch::default();
        let oversized = Dispatch {
            kernel: Kernel::Linear,
            out: DType::F32,
            params: &params,
            input_bytes: 4,
            workgroups: 1,
            result_bytes: too_large,
            clear: false,
            read_bytes: 4,
        };
        let error = pollster::block_on(scratch.run(&ctx, &oversized))
            .expect_err("an oversized binding must fail");
        assert!(error.to_string().contains("running Linear"), "{error}");
        // The device is still usable afterwards.
        let valid = Dispatch {
            result_bytes: 4,
            clear: true,
            ..oversized
        };
        assert_eq!(
            pollster::block_on(scratch.run(&ctx, &valid)).expect("a valid dispatch"),
            vec![0; 4]
        );
    }
}
