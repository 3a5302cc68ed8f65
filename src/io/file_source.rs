//! Native files read with positioned reads, so several threads can share one handle.

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
    fn open_missing_file_names_the_path() {
        let err = FileSource::open(Path::new("/no/such/file.safetensors")).unwrap_err();
        assert!(matches!(err, MergeError::Io { .. }));
        assert!(err.to_string().contains("/no/such/file.safetensors"));
    }
}
