//! Cold-cache runs: dropping files from the page cache so the next read comes from the disk,
//! as when the inputs are new or larger than memory (any 7B or 13B merge on a 24 GB machine).

use std::fs::File;
use std::path::PathBuf;

use crate::error::{MergeError, Result};

/// Asks the kernel to drop every cached page of `paths` (`POSIX_FADV_DONTNEED`). Needs no
/// privileges; pages still dirty are written back first, since only clean pages can go.
#[cfg(target_os = "linux")]
pub fn evict_from_page_cache(paths: &[PathBuf]) -> Result<()> {
    use std::os::unix::io::AsRawFd;

    for path in paths {
        let file = File::open(path).map_err(|e| MergeError::io(path.display(), e))?;
        file.sync_data()
            .map_err(|e| MergeError::io(path.display(), e))?;
        // SAFETY: a plain advice call on a file descriptor this function owns.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(MergeError::io(
                path.display(),
                std::io::Error::from_raw_os_error(rc),
            ));
        }
    }
    Ok(())
}

/// Other systems offer no unprivileged way to drop a file's cached pages.
#[cfg(not(target_os = "linux"))]
pub fn evict_from_page_cache(_paths: &[PathBuf]) -> Result<()> {
    Err(MergeError::Unsupported(
        "dropping files from the page cache (`--cold`) needs Linux".into(),
    ))
}

/// How many of the file's pages are in the page cache (`mincore` of a mapping).
#[cfg(target_os = "linux")]
pub fn resident_pages(path: &std::path::Path) -> Result<usize> {
    let file = File::open(path).map_err(|e| MergeError::io(path.display(), e))?;
    // SAFETY: mapped read-only and never read through; only its residency is asked.
    let map =
        unsafe { memmap2::Mmap::map(&file) }.map_err(|e| MergeError::io(path.display(), e))?;
    // SAFETY: sysconf reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
    let mut residency = vec![0u8; map.len().div_ceil(page)];
    // SAFETY: `residency` has one byte per page of the mapping, as mincore requires.
    let rc = unsafe {
        libc::mincore(
            map.as_ptr() as *mut libc::c_void,
            map.len(),
            residency.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(MergeError::io(
            path.display(),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(residency.iter().filter(|&&b| b & 1 == 1).count())
}
