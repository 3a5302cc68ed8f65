//! The I/O floor: reading every input byte a merge reads and writing as many bytes as it
//! writes, with the same chunked positioned I/O, no computation. Output is written both through
//! the page cache and past it ([`DirectFile`], as merges write); the floor takes the faster.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::error::{MergeError, Result};
use crate::io::direct_file::DirectFile;

const CHUNK: usize = 8 << 20;

/// The parts of one floor measurement, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IoFloor {
    pub read: f64,
    pub write_buffered: f64,
    pub write_direct: f64,
}

impl IoFloor {
    /// Reading plus the faster way of writing.
    pub fn seconds(&self) -> f64 {
        self.read + self.write_buffered.min(self.write_direct)
    }
}

/// Reads `inputs` whole and writes `output_bytes` to a scratch file in `scratch_dir`, once
/// through the page cache and once past it (`direct_first` picks which goes first).
pub fn measure_io_floor(
    inputs: &[std::path::PathBuf],
    output_bytes: u64,
    scratch_dir: &Path,
    direct_first: bool,
) -> Result<IoFloor> {
    let mut buffer = vec![0u8; CHUNK];
    let read = time(|| read_all(inputs, &mut buffer))?;
    let scratch = scratch_dir.join(".io-floor.tmp");
    let buffered = || time(|| write_buffered(&scratch, output_bytes, &buffer));
    let direct = || time(|| write_direct(&scratch, output_bytes, &buffer));
    let (write_buffered, write_direct) = if direct_first {
        let d = direct()?;
        (buffered()?, d)
    } else {
        let b = buffered()?;
        (b, direct()?)
    };
    let _ = std::fs::remove_file(&scratch);
    Ok(IoFloor {
        read,
        write_buffered,
        write_direct,
    })
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
