//! The I/O floor: reading every input byte a merge reads and writing as many bytes as it
//! writes, no computation. Inputs are read both ways a merge can read them: copied by positioned
//! reads, and mapped ([`FileSource`] views, every word folded into a checksum, pages released as
//! merges release them). Output is written both through the page cache and past it
//! ([`DirectFile`], as merges write). The floor takes the faster of each.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::error::{MergeError, Result};
use crate::io::direct_file::DirectFile;
use crate::io::{FileSource, TensorSource};

const CHUNK: usize = 8 << 20;

/// The parts of one floor measurement, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IoFloor {
    pub read_copied: f64,
    pub read_mapped: f64,
    pub write_buffered: f64,
    pub write_direct: f64,
}

impl IoFloor {
    /// The faster way of reading plus the faster way of writing.
    pub fn seconds(&self) -> f64 {
        self.read() + self.write_buffered.min(self.write_direct)
    }

    pub fn read(&self) -> f64 {
        self.read_copied.min(self.read_mapped)
    }
}

/// Reads `inputs` whole, copied and mapped, and writes `output_bytes` to a scratch file in
/// `scratch_dir`, through the page cache and past it (`second_order` swaps which way of each
/// goes first).
pub fn measure_io_floor(
    inputs: &[std::path::PathBuf],
    output_bytes: u64,
    scratch_dir: &Path,
    second_order: bool,
) -> Result<IoFloor> {
    let mut buffer = vec![0u8; CHUNK];
    let (read_copied, read_mapped) = both(
        second_order,
        || time(|| read_all(inputs, &mut buffer)),
        || time(|| read_all_mapped(inputs)),
    )?;
    let scratch = scratch_dir.join(".io-floor.tmp");
    let (write_buffered, write_direct) = both(
        second_order,
        || time(|| write_buffered(&scratch, output_bytes, &buffer)),
        || time(|| write_direct(&scratch, output_bytes, &buffer)),
    )?;
    let _ = std::fs::remove_file(&scratch);
    Ok(IoFloor {
        read_copied,
        read_mapped,
        write_buffered,
        write_direct,
    })
}

/// (a(), b()), run in that order or, `swapped`, b first.
fn both(
    swapped: bool,
    a: impl FnOnce() -> Result<f64>,
    b: impl FnOnce() -> Result<f64>,
) -> Result<(f64, f64)> {
    if swapped {
        let b = b()?;
        Ok((a()?, b))
    } else {
        let a = a()?;
        Ok((a, b()?))
    }
}

fn time(step: impl FnOnce() -> Result<()>) -> Result<f64> {
    let started = Instant::now();
    step()?;
    Ok(started.elapsed().as_secs_f64())
}

fn read_all(inputs: &[std::path::PathBuf], buffer: &mut [u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut checksum = 0u8;
    for path in inputs {
        let file = File::open(path).map_err(|e| MergeError::io(path.display(), e))?;
        let len = file
            .metadata()
            .map_err(|e| MergeError::io(path.display(), e))?
            .len();
        let mut offset = 0;
        while offset < len {
            let n = CHUNK.min((len - offset) as usize);
            file.read_exact_at(&mut buffer[..n], offset)
                .map_err(|e| MergeError::io(path.display(), e))?;
            checksum ^= buffer[n - 1];
            offset += n as u64;
        }
    }
    std::hint::black_box(checksum);
    Ok(())
}

/// Every input mapped, each 64-bit word folded into a checksum, in chunks released behind.
fn read_all_mapped(inputs: &[std::path::PathBuf]) -> Result<()> {
    let mut checksum = 0u64;
    for path in inputs {
        let file = FileSource::open(path)?;
        let mut offset = 0;
        while offset < file.size() {
            let n = CHUNK.min((file.size() - offset) as usize);
            checksum ^= file.read_view(offset, n, fold_words).ok_or_else(|| {
                MergeError::io(path.display(), std::io::Error::other("not mapped"))
            })?;
            offset += n as u64;
        }
    }
    std::hint::black_box(checksum);
    Ok(())
}

fn fold_words(bytes: &[u8]) -> u64 {
    let (head, words, tail) = bytemuck::pod_align_to::<u8, u64>(bytes);
    let edges = head.iter().chain(tail).fold(0u64, |x, &b| x ^ u64::from(b));
    words.iter().fold(edges, |x, &w| x ^ w)
}

fn write_buffered(path: &Path, bytes: u64, buffer: &[u8]) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = File::create(path).map_err(|e| MergeError::io(path.display(), e))?;
    let mut left = bytes;
    while left > 0 {
        let n = CHUNK.min(left as usize);
        file.write_all(&buffer[..n])
            .map_err(|e| MergeError::io(path.display(), e))?;
        left -= n as u64;
    }
    Ok(())
}

fn write_direct(path: &Path, bytes: u64, buffer: &[u8]) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = DirectFile::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = CHUNK.min(left as usize);
        file.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    file.finish(false)
}
