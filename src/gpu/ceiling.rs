//! What this device can move at all, as the kernel benchmark's yardstick: a buffer-to-buffer
//! copy (the driver's own) and a plain WGSL copy kernel in 4- and 16-byte words
//! (`shaders/copy.wgsl`), in bytes read + written per second. A merge kernel's GB/s over the
//! copy kernel's is the part of the device's bandwidth it reaches through wgpu.

use std::time::Instant;

use crate::error::Result;
use crate::gpu::runtime::buffers::grid;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::shaders::COPY;

/// Least time spent repeating one copy.
const SECONDS: f64 = 0.25;
/// Copies recorded per submission (one submission's overhead spread over many).
const PER_SUBMIT: usize = 32;
/// Elements (words or quads) one workgroup of the copy kernel moves.
const PER_WORKGROUP: u64 = 256 * 4;

#[derive(Debug, Clone, Copy)]
pub struct CopyCeiling {
    /// Bytes copied each time (read once, written once).
    pub bytes: u64,
    /// `copy_buffer_to_buffer`.
    pub buffer_copy_gb_s: f64,
    /// `copy_words`: 4-byte loads and stores, like the merge kernels.
    pub kernel_words_gb_s: f64,
    /// `copy_quads`: 16-byte loads and stores.
    pub kernel_quads_gb_s: f64,
}

/// Copies of up to `max_bytes` (within one binding; whole spans of the copy kernel's
/// workgroups, as `copy.wgsl` needs), each timed for at least `runs` batches.
pub fn copy_ceiling(ctx: &GpuContext, max_bytes: u64, runs: usize) -> Result<CopyCeiling> {
    let quantum = 16 * PER_WORKGROUP;
    let bytes = (max_bytes.min(ctx.binding_limit()) / quantum).max(1) * quantum;
    let device = ctx.device();
    let buffer = |usage| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("copy ceiling"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | usage,
            mapped_at_creation: false,
        })
    };
    let source = buffer(wgpu::BufferUsages::COPY_SRC);
    let target = buffer(wgpu::BufferUsages::COPY_DST);
    let buffer_copy_s = seconds_per_copy(ctx, runs, |encoder| {
        encoder.copy_buffer_to_buffer(&source, 0, &target, 0, bytes);
    })?;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("copy.wgsl"),
        source: wgpu::ShaderSource::Wgsl(COPY.into()),
    });
    let kernel = |entry: &str, first_binding: u32, element_bytes: u64| {
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: first_binding,
                    resource: source.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: first_binding + 1,
                    resource: target.as_entire_binding(),
                },
            ],
        });
        let workgroups = (bytes / element_bytes).div_ceil(PER_WORKGROUP) as u32;
        let (x, y) = grid(
            workgroups,
            device.limits().max_compute_workgroups_per_dimension,
        );
        seconds_per_copy(ctx, runs, |encoder| {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        })
    };
    let words_s = kernel("copy_words", 0, 4)?;
    let quads_s = kernel("copy_quads", 2, 16)?;
    source.destroy();
    target.destroy();
    let gb_s = |seconds: f64| 2.0 * bytes as f64 / seconds / 1e9;
    Ok(CopyCeiling {
        bytes,
        buffer_copy_gb_s: gb_s(buffer_copy_s),
        kernel_words_gb_s: gb_s(words_s),
        kernel_quads_gb_s: gb_s(quads_s),
    })
}

/// Device seconds per `record`ed copy: batches of `PER_SUBMIT` in one submission, waited for
/// one by one, for at least `runs` batches and `SECONDS`; the first batch (leaving idle clocks,
/// compiling) is not timed.
fn seconds_per_copy(
    ctx: &GpuContext,
    runs: usize,
    record: impl Fn(&mut wgpu::CommandEncoder),
) -> Result<f64> {
    let batch = || {
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        for _ in 0..PER_SUBMIT {
            record(&mut encoder);
        }
        ctx.queue().submit([encoder.finish()]);
        ctx.wait()
    };
    batch()?;
    let started = Instant::now();
    let mut batches = 0usize;
    while batches < runs || started.elapsed().as_secs_f64() < SECONDS {
        batch()?;
        batches += 1;
    }
    Ok(started.elapsed().as_secs_f64() / (batches * PER_SUBMIT) as f64)
}
