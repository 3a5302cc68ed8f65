//! The I/O floor: reading every input byte a merge reads and writing as many bytes as it
//! writes, no computation. Inputs are read every way a merge can read them: copied by positioned
//! reads, one file after another and all files at once (a thread each: a cloud disk serves
//! several streams faster than one), and mapped ([`FileSource`] views, every word folded into a
//! checksum, pages released as merges release them). Output is written both through the page
//! cache and past it ([`DirectFile`], as merges write). The floor takes the fastest of each.
//! With a cold cache, the inputs leave the page cache before every read.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::evict::evict_from_page_cache;
use crate::error::{MergeError, Result};
use crate::io::direct_file::DirectFile;
use crate::io::{FileSource, TensorSource};

const CHUNK: usize = 8 << 20;

/// The parts of one floor measurement, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IoFloor {
    pub read_copied: f64,
    pub read_concurrent: f64,
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
        self.read_copied
            .min(self.read_concurrent)
            .min(self.read_mapped)
    }
}

/// Reads `inputs` whole every way, and writes `output_bytes` to a scratch file in
/// `scratch_dir` through the page cache and past it; `run` rotates which way of each goes
/// first. `cold` drops the inputs from the page cache before each read.
pub fn measure_io_floor(
    inputs: &[PathBuf],
    output_bytes: u64,
    scratch_dir: &Path,
    run: usize,
    cold: bool,
) -> Result<IoFloor> {
    // A buffer per input, written once here so no timing pays for first touches of its pages.
    let mut buffers: Vec<Vec<u8>> = (0..inputs.len().max(1)).map(|_| vec![1u8; CHUNK]).collect();
    type Read = fn(&[PathBuf], &mut [Vec<u8>]) -> Result<()>;
    let reads: [Read; 3] = [
        |inputs, buffers| read_all(inputs, &mut buffers[0]),
        read_all_concurrently,
        |inputs, _| read_all_mapped(inputs),
    ];
    let mut read_seconds = [0.0; 3];
    for i in (0..3).map(|i| (i + run) % 3) {
        if cold {
            evict_from_page_cache(inputs)?;
        }
        read_seconds[i] = time(|| reads[i](inputs, &mut buffers))?;
    }
    let scratch = scratch_dir.join(".io-floor.tmp");
    type Write = fn(&Path, u64, &[u8]) -> Result<()>;
    let writes: [Write; 2] = [write_buffered, write_direct];
    let mut write_seconds = [0.0; 2];
    for i in (0..2).map(|i| (i + run) % 2) {
        write_seconds[i] = time(|| writes[i](&scratch, output_bytes, &buffers[0]))?;
    }
    let _ = std::fs::remove_file(&scratch);
    let [read_copied, read_concurrent, read_mapped] = read_seconds;
    let [write_buffered, write_direct] = write_seconds;
    Ok(IoFloor {
        read_copied,
        read_concurrent,
        read_mapped,
        write_buffered,
        write_direct,
    })
}

fn time(step: impl FnOnce() -> Result<()>) -> Result<f64> {
    let started = Instant::now();
    step()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Every input at once, a thread each (with a buffer each), copied as [`read_all`] copies one.
fn read_all_concurrently(inputs: &[PathBuf], buffers: &mut [Vec<u8>]) -> Result<()> {
    std::thread::scope(|scope| {
        let readers: Vec<_> = inputs
            .iter()
            .zip(buffers.iter_mut())
            .map(|(path, buffer)| scope.spawn(move || read_all(std::slice::from_ref(path), buffer)))
            .collect();
        readers
            .into_iter()
            .try_for_each(|reader| reader.join().expect("a floor reader panicked"))
    })
}

fn read_all(inputs: &[PathBuf], buffer: &mut [u8]) -> Result<()> {
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
fn read_all_mapped(inputs: &[PathBuf]) -> Result<()> {
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
