//! Reused device buffers of one tensor merge, grown on demand, and the dispatch/read-back steps.

use super::gpu_error;
use super::params::Params;
use super::shaders::Kernel;
use super::GpuContext;
use crate::dtype::DType;
use crate::error::Result;

/// A buffer that grows (never shrinks) to the largest size asked of it.
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
        let size = size.max(16).next_multiple_of(16);
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just created")
    }
}

/// The buffers behind the three bindings (params, inputs, result) and the read-back staging.
pub struct Scratch {
    params: Growable,
    inputs: Growable,
    result: Growable,
    readback: Growable,
}

impl Default for Scratch {
    fn default() -> Self {
        use wgpu::BufferUsages as U;
        Scratch {
            params: Growable::new(U::STORAGE | U::COPY_DST),
            inputs: Growable::new(U::STORAGE | U::COPY_DST),
            result: Growable::new(U::STORAGE | U::COPY_SRC | U::COPY_DST),
            readback: Growable::new(U::MAP_READ | U::COPY_DST),
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
    /// Writes `bytes` (a multiple of 4) at `offset` of the input buffer, which holds `total`.
    pub fn write_inputs(&mut self, ctx: &GpuContext, total: u64, offset: u64, bytes: &[u8]) {
        let buffer = self.inputs.get(&ctx.device, total);
        ctx.queue.write_buffer(buffer, offset, bytes);
    }

    /// Copies `bytes` of binding 2 from `from` into the input buffer at `to`, for a later kernel
    /// that reads what this one computed (the input buffer must already hold `to + bytes`).
    pub fn keep_result(&mut self, ctx: &GpuContext, from: u64, to: u64, bytes: u64) {
        let (Some(result), Some(inputs)) = (&self.result.buffer, &self.inputs.buffer) else {
            return;
        };
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(result, from, inputs, to, bytes);
        ctx.queue.submit([encoder.finish()]);
    }

    /// Runs `kernel` over `workgroups` with binding 2 holding `result_bytes` (zeroed first when
    /// `clear`), then returns binding 2's first `read_bytes` bytes (none when 0).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        kernel: Kernel,
        out: DType,
        params: &Params,
        input_bytes: u64,
        workgroups: u32,
        result_bytes: u64,
        clear: bool,
        read_bytes: u64,
    ) -> Result<Vec<u8>> {
        let device = &ctx.device;
        let params_bytes = params.bytes();
        let params_buffer = self.params.get(device, params_bytes.len() as u64);
        ctx.queue.write_buffer(params_buffer, 0, &params_bytes);
        let params_buffer = params_buffer.clone();
        let inputs = self.inputs.get(device, input_bytes).clone();
        let result = self.result.get(device, result_bytes).clone();
        let pipeline = ctx.pipelines.get(device, kernel, out);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                entry(0, &params_buffer, params_bytes.len() as u64),
                entry(1, &inputs, input_bytes.max(4)),
                entry(2, &result, result_bytes.max(4)),
            ],
        });
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
            return Ok(Vec::new());
        }
        let readback = self.readback.get(device, read_bytes).clone();
        encoder.copy_buffer_to_buffer(&result, 0, &readback, 0, read_bytes);
        ctx.queue.submit([encoder.finish()]);
        let slice = readback.slice(..read_bytes);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        ctx.wait()?;
        // A lost device may never call back: after the wait, no answer is a failure — after a
        // grace period, since another thread polling the shared device may be delivering it.
        receiver
            .recv_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| gpu_error("reading back", e))?
            .map_err(|e| gpu_error("reading back", e))?;
        let bytes = slice
            .get_mapped_range()
            .map_err(|e| gpu_error("reading back", e))?
            .to_vec();
        readback.unmap();
        Ok(bytes)
    }
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
