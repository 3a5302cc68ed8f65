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
        Ok(MappedStaging {
            staging: self,
            copies: Vec::new(),
            next: 0,
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
    /// (staging offset, target offset, bytes) of each write.
    copies: Vec<(u64, u64, u64)>,
    /// Where the next write goes in the staging buffer (mapped ranges start at 8-byte marks).
    next: u64,
}

/// Staging bytes [`MappedStaging::write`] needs for writes of `lens` bytes.
pub fn staging_size(lens: impl Iterator<Item = u64>) -> u64 {
    lens.map(|len| len.next_multiple_of(wgpu::MAP_ALIGNMENT))
        .sum()
}

impl MappedStaging<'_> {
    /// Puts `bytes` where `copy_to` copies them to `target_offset`, zero-padded to a whole
    /// word; large ones in pieces by several threads (one core copies a few GB/s: a tensor of
    /// a gigabyte would keep the GPU waiting).
    pub fn write(&mut self, target_offset: u64, bytes: &[u8]) -> Result<()> {
        const PIECE: usize = 32 << 20;
        let buffer = self.staging.buffer.as_ref().expect("mapped");
        let at = self.next;
        let pieces = bytes.len().div_ceil(PIECE).clamp(1, 4);
        let per_piece = (bytes.len().div_ceil(pieces)).next_multiple_of(8);
        let mut views = Vec::with_capacity(pieces);
        for (k, piece) in bytes.chunks(per_piece).enumerate() {
            let start = at + (k * per_piece) as u64;
            // Only the last piece can end inside a word; its view takes the whole word.
            let len = piece.len().next_multiple_of(4) as u64;
            let view = (buffer.slice(start..start + len))
                .get_mapped_range_mut()
                .map_err(|e| gpu_error("writing the staging buffer", e))?;
            views.push((view, piece));
        }
        std::thread::scope(|scope| {
            for (mut view, piece) in views {
                scope.spawn(move || {
                    let padding = view.len() - piece.len();
                    view.slice(..piece.len()).copy_from_slice(piece);
                    view.slice(piece.len()..)
                        .copy_from_slice(&[0; 3][..padding]);
                });
            }
        });
        let len = bytes.len().next_multiple_of(4) as u64;
        self.copies.push((at, target_offset, len));
        self.next = (at + len).next_multiple_of(wgpu::MAP_ALIGNMENT);
        Ok(())
    }

    /// Unmaps and copies every write to its place in `target`.
    pub fn copy_to(self, ctx: &GpuContext, target: &wgpu::Buffer) {
        let buffer = self.staging.buffer.as_ref().expect("mapped");
        buffer.unmap();
        self.staging.mapped = false;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for &(from, to, len) in &self.copies {
            encoder.copy_buffer_to_buffer(buffer, from, target, to, len);
        }
        ctx.queue.submit([encoder.finish()]);
    }
}
