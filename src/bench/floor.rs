//! The I/O floor: reading every input byte a merge reads and writing as many bytes as it
//! writes, with the same chunked positioned I/O, no computation.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::error::{MergeError, Result};

const CHUNK: usize = 8 << 20;

/// Seconds to read `inputs` whole and write `output_bytes` to a scratch file in `scratch_dir`.
pub fn measure_io_floor(
    inputs: &[std::path::PathBuf],
    output_bytes: u64,
    scratch_dir: &Path,
) -> Result<f64> {
    use std::os::unix::fs::FileExt;
    let started = Instant::now();
    let mut buffer = vec![0u8; CHUNK];
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
    let scratch = scratch_dir.join(".io-floor.tmp");
    {
        let mut file = File::create(&scratch).map_err(|e| MergeError::io(scratch.display(), e))?;
        let mut left = output_bytes;
        while left > 0 {
            let n = CHUNK.min(left as usize);
            file.write_all(&buffer[..n])
                .map_err(|e| MergeError::io(scratch.display(), e))?;
            left -= n as u64;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&scratch);
    Ok(seconds)
}
