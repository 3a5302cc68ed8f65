//! A file written front to back past the page cache (Linux `O_DIRECT`), on a thread of its own.
//!
//! Why: a buffered write copies every byte into freshly allocated page-cache pages, and on a
//! 2-core machine that copy (and the first touch of those pages) took as much CPU as the whole
//! merge's arithmetic. A direct write hands whole aligned blocks to the device and sleeps, so the
//! cores keep merging. Bytes are gathered into aligned blocks; the last, partial one is padded
//! to the block size and the file is then cut to its true length. Where the file system refuses
//! `O_DIRECT` (tmpfs, some network file systems) the same code writes through the page cache.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{MergeError, Result};

/// Offsets, lengths and buffer addresses of direct I/O are multiples of this (every common
/// logical block size divides it).
const ALIGN: usize = 4096;
/// Bytes per write: large enough that the device streams, small enough to double-buffer.
pub const BLOCK_BYTES: usize = 8 << 20;
/// Blocks that may wait for the device while the next one fills.
const QUEUED: usize = 2;

/// A heap block aligned to [`ALIGN`], zero-initialised once.
struct AlignedBlock {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the block owns its allocation exclusively; it moves between threads whole.
unsafe impl Send for AlignedBlock {}

impl AlignedBlock {
    fn layout() -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(BLOCK_BYTES, ALIGN).expect("block layout")
    }

    fn new() -> Self {
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(Self::layout()) };
        let ptr = std::ptr::NonNull::new(raw)
            .unwrap_or_else(|| std::alloc::handle_alloc_error(Self::layout()));
        AlignedBlock { ptr, len: 0 }
    }

    fn spare(&mut self) -> &mut [u8] {
        // SAFETY: the allocation is BLOCK_BYTES long and initialised; `len` ≤ BLOCK_BYTES.
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(self.len), BLOCK_BYTES - self.len)
        }
    }

    fn whole(&self) -> &[u8] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), BLOCK_BYTES) }
    }
}

impl Drop for AlignedBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Self::layout()) }
    }
}

/// A full block to write at a file offset.
type Job = (AlignedBlock, u64);

/// Threads writing blocks: the device takes two writes in flight about 1.6× as fast as one.
const WRITERS: usize = 2;
/// Blocks allowed at once: one per writer, QUEUED waiting, one filling.
const BLOCKS: usize = WRITERS + QUEUED + 1;

/// A file opened for one sequential write.
pub struct DirectFile {
    path: PathBuf,
    file: Arc<File>,
    filling: Option<AlignedBlock>,
    offset: u64,
    jobs: Option<SyncSender<Job>>,
    empties: Receiver<AlignedBlock>,
    writers: Vec<JoinHandle<Result<()>>>,
    /// Blocks allocated so far (at most BLOCKS).
    made: usize,
}

impl std::fmt::Debug for DirectFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectFile")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .finish()
    }
}

impl DirectFile {
    /// Creates (truncates) `path`; past the page cache where the file system allows it.
    pub fn create(path: &Path) -> Result<Self> {
        let (file, _) = open_for_writing(path)?;
        let file = Arc::new(file);
        let (jobs, queue) = sync_channel::<Job>(QUEUED);
        let (give_back, empties) = sync_channel::<AlignedBlock>(BLOCKS);
        let queue = Arc::new(Mutex::new(queue));
        let writers = (0..WRITERS)
            .map(|_| {
                let (file, queue, give_back) = (file.clone(), queue.clone(), give_back.clone());
                let name = path.display().to_string();
                std::thread::Builder::new()
                    .name("mixmerge-writer".into())
                    .spawn(move || write_jobs(&file, &name, &queue, &give_back))
                    .map_err(|e| MergeError::io(path.display(), e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DirectFile {
            path: path.to_path_buf(),
            file,
            filling: Some(AlignedBlock::new()),
            offset: 0,
            jobs: Some(jobs),
            empties,
            writers,
            made: 1,
        })
    }

    pub fn write_all(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let block = self.filling.as_mut().expect("a block is filling");
            let spare = block.spare();
            let take = spare.len().min(bytes.len());
            spare[..take].copy_from_slice(&bytes[..take]);
            block.len += take;
            bytes = &bytes[take..];
            if block.len == BLOCK_BYTES {
                self.send_full_block()?;
            }
        }
        Ok(())
    }

    fn send_full_block(&mut self) -> Result<()> {
        let block = self.filling.take().expect("a block is filling");
        let offset = self.offset;
        self.offset += block.len as u64;
        let jobs = self.jobs.as_ref().expect("file still open");
        if jobs.send((block, offset)).is_err() {
            return Err(self.writers_failed());
        }
        // Once every block is made, wait for a writer to hand one back.
        let mut next = match self.empties.try_recv() {
            Ok(block) => block,
            Err(_) if self.made < BLOCKS => {
                self.made += 1;
                AlignedBlock::new()
            }
            Err(_) => match self.empties.recv() {
                Ok(block) => block,
                Err(_) => return Err(self.writers_failed()),
            },
        };
        next.len = 0;
        self.filling = Some(next);
        Ok(())
    }

    /// The writers hung up: the error that stopped them.
    fn writers_failed(&mut self) -> MergeError {
        self.stop_writers().err().unwrap_or_else(|| {
            MergeError::io(
                self.path.display(),
                std::io::Error::other("the writer threads stopped"),
            )
        })
    }

    /// Lets the writers finish what is queued and waits for them; their first error.
    fn stop_writers(&mut self) -> Result<()> {
        self.jobs = None;
        let mut outcome = Ok(());
        for writer in self.writers.drain(..) {
            let result = writer.join().unwrap_or_else(|_| {
                Err(MergeError::io(
                    self.path.display(),
                    std::io::Error::other("a writer thread panicked"),
                ))
            });
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }

    /// Writes what is left (the last block padded to ALIGN) and cuts the file to its length
    /// once every block is on the device; `sync` then flushes it to stable storage.
    pub fn finish(mut self, sync: bool) -> Result<()> {
        self.stop_writers()?;
        let block = self.filling.take().expect("a block is filling");
        let length = self.offset + block.len as u64;
        let padded = block.len.div_ceil(ALIGN) * ALIGN;
        let fail = |e| MergeError::io(self.path.display(), e);
        write_at(&self.file, &block.whole()[..padded], self.offset).map_err(fail)?;
        self.file.set_len(length).map_err(fail)?;
        if sync {
            self.file.sync_all().map_err(fail)?;
        }
        Ok(())
    }
}

impl Drop for DirectFile {
    /// Abandoned (an error elsewhere): stop the threads; the caller discards the file.
    fn drop(&mut self) {
        let _ = self.stop_writers();
    }
}

/// Opens with `O_DIRECT` where the platform and file system have it; else a plain file.
fn open_for_writing(path: &Path) -> Result<(File, bool)> {
    let plain = || {
        File::create(path)
            .map(|file| (file, false))
            .map_err(|e| MergeError::io(path.display(), e))
    };
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let direct = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path);
        match direct {
            Ok(file) => Ok((file, true)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => plain(),
            Err(e) => Err(MergeError::io(path.display(), e)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = OpenOptions::new;
        plain()
    }
}

/// A writer thread: writes blocks as they come and hands them back; stops at the first error.
fn write_jobs(
    file: &File,
    name: &str,
    queue: &Mutex<Receiver<Job>>,
    give_back: &SyncSender<AlignedBlock>,
) -> Result<()> {
    loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((block, offset)) = job else {
            return Ok(());
        };
        write_at(file, &block.whole()[..block.len], offset).map_err(|e| MergeError::io(name, e))?;
        // The file may have finished with its blocks already; that is fine.
        let _ = give_back.try_send(block);
    }
}

fn write_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::FileExt;
        match file.write_all_at(bytes, offset) {
            // A device whose blocks are larger than ALIGN refuses the direct write: go on
            // through the page cache (the flag is per open file, so every writer follows).
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && clear_direct(file) => {
                file.write_all_at(bytes, offset)
            }
            outcome => outcome,
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let (mut bytes, mut offset) = (bytes, offset);
        while !bytes.is_empty() {
            let n = file.seek_write(bytes, offset)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            bytes = &bytes[n..];
            offset += n as u64;
        }
        Ok(())
    }
}

/// Turns `O_DIRECT` off for `file`; false when it was not on (or cannot be changed).
#[cfg(target_os = "linux")]
fn clear_direct(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this File owns; F_GETFL/F_SETFL only read and set flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0
            && flags & libc::O_DIRECT != 0
            && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn writes_every_byte_in_order_for_awkward_lengths() {
        let dir = tempfile::tempdir().unwrap();
        for len in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            BLOCK_BYTES - 3,
            3 * BLOCK_BYTES + 12_345,
        ] {
            let path = dir.path().join(format!("f{len}"));
            let data = pattern(len);
            let mut file = DirectFile::create(&path).unwrap();
            // Pieces of several sizes, crossing block edges.
            for piece in data.chunks(1_000_003) {
                let (a, b) = piece.split_at(piece.len() / 3);
                file.write_all(a).unwrap();
                file.write_all(b).unwrap();
            }
            file.finish(false).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), data, "length {len}");
        }
    }

    #[test]
    fn tmpfs_files_are_written_too() {
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return; // no tmpfs here; the tests above cover the disk
        }
        // Older kernels refuse O_DIRECT on tmpfs (the page-cache path), newer ones take it.
        let dir = tempfile::tempdir_in(shm).unwrap();
        let path = dir.path().join("f");
        let data = pattern(BLOCK_BYTES + 777);
        let mut file = DirectFile::create(&path).unwrap();
        file.write_all(&data).unwrap();
        file.finish(false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_refused_direct_write_goes_through_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let (file, direct) = open_for_writing(&path).unwrap();
        // An odd length at an odd address: every direct write refuses it with EINVAL.
        let data = pattern(1001);
        write_at(&file, &data[1..], 0).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), &data[1..]);
        if direct {
            let (file, _) = open_for_writing(&path).unwrap();
            assert!(clear_direct(&file) && !clear_direct(&file));
        }
    }

    #[test]
    fn a_missing_folder_is_named() {
        let err = DirectFile::create(Path::new("/no/such/folder/x.safetensors"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("/no/such/folder/x.safetensors"));
    }
}
