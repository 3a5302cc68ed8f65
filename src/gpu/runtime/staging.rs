//! Native uploads of held tensors through a ring of a few small mapped staging buffers: wgpu's
//! `write_buffer` allocates (and the driver pins) fresh staging memory per call, and one staging
//! buffer as large as the largest tensor (1.5 GB for a 1B model's embedding) costs its pinning
//! and zeroing once and the memory for the whole merge. The host fills one slice while the GPU
//! copies the last out of another.

use super::device::gpu_error;
use super::device::GpuDevice;
use crate::error::Result;

/// Slices in the ring: one filling while the GPU copies out of the other (a copy is faster
/// than filling the slice, so it is done by the time that slice comes round again).
const SLICES: usize = 2;

#[derive(Default)]
pub struct Staging {
    slices: Vec<Slice>,
    /// The slice filled next.
    next: usize,
    /// Bytes of each slice (`GpuDevice::transfer_bytes`).
    slice_bytes: u64,
}

struct Slice {
    buffer: wgpu::Buffer,
    /// The submission that copies out of it, until it has run.
    copying: Option<wgpu::SubmissionIndex>,
    mapped: bool,
}

impl Staging {
    /// An upload into `target`: writes go through the ring and are copied as slices fill.
    pub fn upload<'a>(&'a mut self, ctx: &'a GpuDevice, target: &'a wgpu::Buffer) -> Upload<'a> {
        if self.slice_bytes != ctx.transfer_bytes() {
            for slice in self.slices.drain(..) {
                slice.buffer.destroy();
            }
            self.slice_bytes = ctx.transfer_bytes();
            self.next = 0;
        }
        Upload {
            staging: self,
            ctx,
            target,
            filling: None,
        }
    }

    /// The next slice, mapped for writing once the GPU has copied out what it held.
    fn acquire(&mut self, ctx: &GpuDevice) -> Result<usize> {
        if self.slices.len() < SLICES {
            self.slices.push(Slice {
                buffer: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("staging"),
                    size: self.slice_bytes,
                    usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: true,
                }),
                copying: None,
                mapped: true,
            });
            return Ok(self.slices.len() - 1);
        }
        let index = self.next;
        self.next = (self.next + 1) % SLICES;
        let slice = &mut self.slices[index];
        if slice.mapped {
            return Ok(index);
        }
        if let Some(submission) = slice.copying.take() {
            let wait = wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            };
            (ctx.device.poll(wait)).map_err(|e| gpu_error("waiting for a staging copy", e))?;
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.buffer.map_async(wgpu::MapMode::Write, .., move |r| {
            let _ = sender.send(r);
        });
        // The slice is idle, so the map resolves at the next poll, without waiting for the
        // copies other slices have under way (or, failing that, after all of them).
        let poll =
            |kind| (ctx.device.poll(kind)).map_err(|e| gpu_error("mapping the staging buffer", e));
        poll(wgpu::PollType::Poll)?;
        let mapped = match receiver.try_recv() {
            Ok(mapped) => mapped,
            Err(_) => {
                poll(wgpu::PollType::wait_indefinitely())?;
                (receiver.recv_timeout(std::time::Duration::from_secs(5)))
                    .map_err(|e| gpu_error("mapping the staging buffer", e))?
            }
        };
        mapped.map_err(|e| gpu_error("mapping the staging buffer", e))?;
        ctx.check()?;
        slice.mapped = true;
        Ok(index)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for slice in self.slices.drain(..) {
            slice.buffer.destroy();
        }
    }
}

/// One tensor's upload: written slot by slot with [`Upload::write`], then [`Upload::finish`]ed.
pub struct Upload<'a> {
    staging: &'a mut Staging,
    ctx: &'a GpuDevice,
    target: &'a wgpu::Buffer,
    /// The slice being filled: its index, the bytes used, and the copies it holds.
    filling: Option<Filling>,
}

struct Filling {
    slice: usize,
    used: u64,
    /// (slice offset, target offset, bytes) of each piece written.
    copies: Vec<(u64, u64, u64)>,
}

impl Upload<'_> {
    /// Puts `bytes` at `target_offset` of the target, zero-padded to a whole word; large ones in
    /// pieces by several threads (one core copies a few GB/s).
    pub fn write(&mut self, target_offset: u64, bytes: &[u8]) -> Result<()> {
        let mut done = 0usize;
        while done < bytes.len() {
            let (slice, at) = self.room()?;
            let room = (self.staging.slice_bytes - at) as usize;
            let piece = &bytes[done..(done + room).min(bytes.len())];
            let buffer = &self.staging.slices[slice].buffer;
            let len = write_parallel(buffer, at, piece)?;
            let filling = self.filling.as_mut().expect("a slice");
            filling.copies.push((at, target_offset + done as u64, len));
            filling.used = (at + len).next_multiple_of(wgpu::MAP_ALIGNMENT);
            done += piece.len();
        }
        Ok(())
    }

    /// Submits the copies of the slice being filled; the kernels submitted after read them.
    pub fn finish(mut self) {
        self.flush();
    }

    /// The slice to write into and where, with room for at least a word.
    fn room(&mut self) -> Result<(usize, u64)> {
        if let Some(f) = &self.filling {
            if f.used + 4 <= self.staging.slice_bytes {
                return Ok((f.slice, f.used));
            }
            self.flush();
        }
        let slice = self.staging.acquire(self.ctx)?;
        self.filling = Some(Filling {
            slice,
            used: 0,
            copies: Vec::new(),
        });
        Ok((slice, 0))
    }

    /// Unmaps the slice being filled and submits its copies.
    fn flush(&mut self) {
        let Some(filling) = self.filling.take() else {
            return;
        };
        let slice = &mut self.staging.slices[filling.slice];
        slice.buffer.unmap();
        slice.mapped = false;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        for &(from, to, len) in &filling.copies {
            encoder.copy_buffer_to_buffer(&slice.buffer, from, self.target, to, len);
        }
        slice.copying = Some(self.ctx.queue.submit([encoder.finish()]));
    }
}

impl Drop for Upload<'_> {
    /// An upload abandoned half-way (a read failed) still leaves its slice unmapped and idle.
    fn drop(&mut self) {
        if let Some(filling) = self.filling.take() {
            let slice = &mut self.staging.slices[filling.slice];
            slice.buffer.unmap();
            slice.mapped = false;
        }
    }
}

/// Copies `piece` into the mapped `buffer` at `at`, zero-padded to a whole word, in parts by up
/// to four threads; returns the bytes written.
fn write_parallel(buffer: &wgpu::Buffer, at: u64, piece: &[u8]) -> Result<u64> {
    const PART: usize = 16 << 20;
    let parts = piece.len().div_ceil(PART).clamp(1, 4);
    let per_part = (piece.len().div_ceil(parts)).next_multiple_of(8);
    let mut views = Vec::with_capacity(parts);
    for (k, part) in piece.chunks(per_part).enumerate() {
        let start = at + (k * per_part) as u64;
        // Only the last part can end inside a word; its view takes the whole word.
        let len = part.len().next_multiple_of(4) as u64;
        let view = (buffer.slice(start..start + len))
            .get_mapped_range_mut()
            .map_err(|e| gpu_error("writing the staging buffer", e))?;
        views.push((view, part));
    }
    if let [(view, part)] = views.as_mut_slice() {
        fill(view, part);
    } else {
        std::thread::scope(|scope| {
            for (mut view, part) in views {
                scope.spawn(move || fill(&mut view, part));
            }
        });
    }
    Ok(piece.len().next_multiple_of(4) as u64)
}

fn fill(view: &mut wgpu::BufferViewMut, part: &[u8]) {
    let padding = view.len() - part.len();
    view.slice(..part.len()).copy_from_slice(part);
    view.slice(part.len()..).copy_from_slice(&[0; 3][..padding]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::runtime::context::test_context;

    /// Writes of odd lengths, each larger than a slice, through a ring of two tiny slices
    /// (each reused several times, across two uploads): every byte lands in place, and the
    /// padding to a whole word is zero.
    #[test]
    fn writes_larger_than_the_ring_arrive_in_place() {
        let Some(ctx) = test_context() else {
            return;
        };
        let size = 4096u64;
        let target = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let ctx = ctx.with_transfer_bytes(256);
        let mut staging = Staging::default();
        let pattern = |n: usize, seed: u8| -> Vec<u8> {
            (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
        };
        let writes = [
            (0u64, pattern(1001, 1)),
            (1004, pattern(700, 2)),
            (1704, pattern(2001, 3)),
        ];
        let mut expected = vec![0xeeu8; size as usize];
        for (k, (offset, bytes)) in writes.iter().enumerate() {
            let mut upload = staging.upload(&ctx, &target);
            // Two uploads: the second finds every slice already used once.
            upload.write(*offset, bytes).expect("write");
            if k != 1 {
                upload.finish();
            } else {
                upload.write(0, &writes[0].1).expect("write");
                upload.finish();
            }
            let at = *offset as usize;
            expected[at..at + bytes.len()].copy_from_slice(bytes);
            let padded = bytes.len().next_multiple_of(4);
            expected[at + bytes.len()..at + padded].fill(0);
        }
        let read = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&target, 0, &read, 0, size);
        ctx.queue.submit([encoder.finish()]);
        read.slice(..)
            .map_async(wgpu::MapMode::Read, |r| r.expect("map"));
        ctx.wait().expect("wait");
        let got = read.slice(..).get_mapped_range().expect("mapped").to_vec();
        let written = 1704 + 2001_usize.next_multiple_of(4);
        assert_eq!(got[..written], expected[..written]);
    }
}
