//! Native uploads of held tensors through one persistent mapped staging buffer: wgpu's
//! `write_buffer` allocates (and the driver pins) fresh staging memory per call, which for a
//! tensor of a gigabyte costs more than copying it there.

use super::gpu_error;
use super::GpuContext;
use crate::error::Result;

#[derive(Default)]
pub struct Staging {
    buffer: Option<wgpu::Buffer>,
    /// Still mapped: an upload failed half-way.
    mapped: bool,
}

impl Staging {
    /// The staging buffer, at least `size` bytes, mapped for writing once the GPU has copied
    /// out of it what the last upload put there.
    pub fn map(&mut self, ctx: &GpuContext, size: u64) -> Result<MappedStaging<'_>> {
        let size = size.next_multiple_of(4);
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            if let Some(old) = self.buffer.take() {
                old.destroy();
            }
            self.buffer = Some(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("staging"),
                size,
                usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            }));
        } else {
            let buffer = self.buffer.as_ref().expect("present");
            if self.mapped {
                buffer.unmap();
            }
            let (sender, receiver) = std::sync::mpsc::channel();
            buffer.map_async(wgpu::MapMode::Write, .., move |r| {
                let _ = sender.send(r);
            });
            ctx.wait()?;
            (receiver.recv_timeout(std::time::Duration::from_secs(5)))
                .map_err(|e| gpu_error("mapping the staging buffer", e))?
                .map_err(|e| gpu_error("mapping the staging buffer", e))?;
        }
        self.mapped = true;
        let view = (self.buffer.as_ref().expect("present").slice(..size))
            .get_mapped_range_mut()
            .map_err(|e| gpu_error("writing the staging buffer", e))?;
        Ok(MappedStaging {
            staging: self,
            view,
            size,
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            buffer.destroy();
        }
    }
}

/// The staging buffer while mapped: written slot by slot, then copied to the device.
pub struct MappedStaging<'a> {
    staging: &'a mut Staging,
    view: wgpu::BufferViewMut,
    size: u64,
}

impl MappedStaging<'_> {
    /// Puts `bytes` at `offset`.
    pub fn write(&mut self, offset: u64, bytes: &[u8]) {
        let at = offset as usize;
        self.view.slice(at..at + bytes.len()).copy_from_slice(bytes);
    }

    /// Unmaps and copies everything written to the start of `target`.
    pub fn copy_to(self, ctx: &GpuContext, target: &wgpu::Buffer) {
        let MappedStaging {
            staging,
            view,
            size,
        } = self;
        drop(view);
        let buffer = staging.buffer.as_ref().expect("mapped");
        buffer.unmap();
        staging.mapped = false;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, target, 0, size);
        ctx.queue.submit([encoder.finish()]);
    }
}
