//! Native files, mapped into memory where the system allows it (decoding reads the page cache
//! directly, without copying it into a buffer first: half the memory traffic of a read), else
//! read with positioned reads; either way several threads share one handle.

use std::fs::File;
use std::path::Path;

use super::source::{check_range, TensorSource};
use crate::error::{MergeError, Result};

/// An open checkpoint file on disk. `Send + Sync`: reads never move a shared cursor.
#[derive(Debug)]
pub struct FileSource {
    name: String,
    file: File,
    size: u64,
    #[cfg(any(unix, windows))]
    map: Option<memmap2::Mmap>,
    /// Released ranges not yet dropped from the map (see [`TensorSource::release`]).
    #[cfg(unix)]
    released: std::sync::Mutex<ReleasedSpan>,
    // Without positioned reads the cursor is shared, so reads take turns.
    #[cfg(not(any(unix, windows)))]
    cursor_lock: std::sync::Mutex<()>,
}

impl FileSource {
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| MergeError::io(&name, e))?;
        let size = file.metadata().map_err(|e| MergeError::io(&name, e))?.len();
        Ok(FileSource {
            name,
            #[cfg(any(unix, windows))]
            map: map_file(&file, size),
            #[cfg(unix)]
            released: Default::default(),
            file,
            size,
            #[cfg(not(any(unix, windows)))]
            cursor_lock: std::sync::Mutex::new(()),
        })
    }

    /// Synchronous exact read, for the native multi-threaded executor.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&self.name, self.size, offset, buf.len())?;
        self.read_exact_at(offset, buf)
            .map_err(|e| MergeError::io(&self.name, e))
    }

    #[cfg(unix)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> std::io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !buf.is_empty() {
            match self.file.seek_read(buf, offset) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    #[cfg(not(any(unix, windows)))]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let _turn = self.cursor_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = &self.file;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

/// Bytes released since pages were last dropped, and the span that covers them.
#[cfg(unix)]
#[derive(Debug, Default)]
struct ReleasedSpan {
    bytes: usize,
    start: usize,
    end: usize,
}

/// Released bytes gathered before pages are dropped: each drop interrupts every core running
/// this process to flush its TLB (20 % of a merge's time when done per 128 KiB chunk).
#[cfg(unix)]
const RELEASE_BATCH: usize = 32 << 20;

/// A read-only map of the whole file, or `None` (empty file, a system that refuses) to read it.
#[cfg(any(unix, windows))]
fn map_file(file: &File, size: u64) -> Option<memmap2::Mmap> {
    if size == 0 || usize::try_from(size).is_err() {
        return None;
    }
    // SAFETY: the map is only read. A merge's inputs are not written while it runs; a file cut
    // short meanwhile would fault the process on access, as with every mapping loader
    // (safetensors', torch's).
    unsafe { memmap2::Mmap::map(file) }.ok()
}

impl TensorSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> u64 {
        self.size
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.read_at(offset, buf)
    }

    #[cfg(any(unix, windows))]
    fn view(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        self.map.as_ref()?.get(start..start.checked_add(len)?)
    }

    #[cfg(unix)]
    fn release(&self, offset: u64, len: usize) {
        let Some(map) = &self.map else { return };
        let Some((start, end)) = usize::try_from(offset)
            .ok()
            .and_then(|start| Some((start, start.checked_add(len)?)))
            .filter(|&(_, end)| end <= map.len())
        else {
            return;
        };
        let span = {
            let mut released = self.released.lock().unwrap_or_else(|p| p.into_inner());
            if released.bytes == 0 {
                (released.start, released.end) = (start, end);
            } else {
                released.start = released.start.min(start);
                released.end = released.end.max(end);
            }
            released.bytes += len;
            if released.bytes < RELEASE_BATCH {
                return;
            }
            let span = (released.start, released.end);
            *released = ReleasedSpan::default();
            span
        };
        // SAFETY: the map is read-only and file-backed: pages dropped here read the same bytes
        // again from the file when next touched. The span may cover bytes other workers are
        // reading or will read again; they fault those pages back in.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, span.0, span.1 - span.0)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn file_source_is_shareable_across_threads() {
        assert_send_sync::<FileSource>();
    }

    #[test]
    fn reads_ranges_and_names_the_file_on_error() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&(0u8..100).collect::<Vec<_>>()).unwrap();
        let source = FileSource::open(tmp.path()).unwrap();
        assert_eq!(source.size(), 100);
        let mut buf = [0u8; 4];
        source.read_at(50, &mut buf).unwrap();
        assert_eq!(buf, [50, 51, 52, 53]);
        let err = source.read_at(98, &mut buf).unwrap_err();
        assert!(err.to_string().contains(&tmp.path().display().to_string()));
    }

    #[test]
    fn views_match_reads_and_stay_valid_after_release() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&bytes).unwrap();
        let source = FileSource::open(tmp.path()).unwrap();
        let view = source.view(5000, 9000).expect("files are mapped here");
        assert_eq!(view, &bytes[5000..14_000]);
        source.release(5000, 9000);
        assert_eq!(source.view(4000, 12_000).unwrap(), &bytes[4000..16_000]);
        assert!(source.view(19_999, 2).is_none(), "past the end");
        source.release(19_999, 2);
    }

    #[cfg(unix)]
    #[test]
    fn pages_dropped_in_batches_read_the_same_bytes_again() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let len = RELEASE_BATCH + (3 << 20);
        let byte_at = |i: usize| (i % 251) as u8 ^ (i >> 20) as u8;
        let bytes: Vec<u8> = (0..len).map(byte_at).collect();
        tmp.write_all(&bytes).unwrap();
        let source = FileSource::open(tmp.path()).unwrap();
        let step = 1 << 20;
        for offset in (0..len).step_by(step) {
            let view = source.view(offset as u64, step).expect("mapped");
            assert_eq!(view, &bytes[offset..offset + step]);
            // Past RELEASE_BATCH bytes the pages read so far are dropped from the map.
            source.release(offset as u64, step);
        }
        #[cfg(target_os = "linux")]
        {
            let resident = mapped_resident_bytes(tmp.path());
            assert!(resident < 8 << 20, "{resident} bytes still resident");
        }
        let again = source.view(0, len).expect("mapped");
        assert!(again.iter().enumerate().all(|(i, &b)| b == byte_at(i)));
    }

    /// Resident bytes of this process's map of `path` (`/proc/self/smaps`).
    #[cfg(target_os = "linux")]
    fn mapped_resident_bytes(path: &Path) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let name = path.display().to_string();
        let mut lines = smaps.lines().skip_while(|line| !line.ends_with(&name));
        let rss = lines
            .find_map(|line| line.strip_prefix("Rss:"))
            .expect("the file is mapped");
        rss.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<usize>()
            .unwrap()
            * 1024
    }

    #[test]
    fn open_missing_file_names_the_path() {
        let err = FileSource::open(Path::new("/no/such/file.safetensors")).unwrap_err();
        assert!(matches!(err, MergeError::Io { .. }));
        assert!(err.to_string().contains("/no/such/file.safetensors"));
    }
}
