//! Where checkpoint bytes come from: anything that can serve an exact byte range.

use crate::error::{MergeError, Result};

/// A readable checkpoint file: a native file, a browser `Blob`, or bytes in memory.
#[allow(async_fn_in_trait)]
pub trait TensorSource {
    /// The file path or name; every error about this source names it.
    fn name(&self) -> &str;

    /// Total length in bytes.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes starting at `offset`; reading past the end is an error.
    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Bytes read once, before the merge (a header): a streamed source fetches exactly these
    /// rather than the block around them.
    async fn read_once(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.read_range(offset, buf).await
    }

    /// The `len` bytes at `offset` without a copy, when the source holds them in memory (a
    /// mapped file); `None` (also out of range) sends the caller to [`Self::read_range`].
    fn view(&self, _offset: u64, _len: usize) -> Option<&[u8]> {
        None
    }

    /// Says a viewed range will not be read again soon: a mapped file drops those pages from
    /// this process (the page cache keeps them), so its resident memory stays bounded.
    fn release(&self, _offset: u64, _len: usize) {}

    /// `read(view)` of the `len` bytes at `offset`, then [`Self::release`] of them; `None`
    /// when the source has no view of them.
    fn read_view<R>(&self, offset: u64, len: usize, read: impl FnOnce(&[u8]) -> R) -> Option<R>
    where
        Self: Sized,
    {
        let result = read(self.view(offset, len)?);
        self.release(offset, len);
        Some(result)
    }
}

/// Fails with an error naming `name` when `[offset, offset + len)` is not inside `size` bytes.
pub fn check_range(name: &str, size: u64, offset: u64, len: usize) -> Result<()> {
    let end = offset.checked_add(len as u64);
    match end {
        Some(end) if end <= size => Ok(()),
        _ => Err(MergeError::io(
            name,
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("read of {len} bytes at offset {offset} goes past the end of the file ({size} bytes)"),
            ),
        )),
    }
}

/// A checkpoint held in memory: tests, and small files the browser has already read.
#[derive(Debug, Clone)]
pub struct MemorySource {
    name: String,
    bytes: Vec<u8>,
}

impl MemorySource {
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        MemorySource {
            name: name.into(),
            bytes,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl TensorSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&self.name, self.size(), offset, buf.len())?;
        let start = offset as usize;
        buf.copy_from_slice(&self.bytes[start..start + buf.len()]);
        Ok(())
    }

    fn view(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_source_reads_exact_ranges() {
        let source = MemorySource::new("mem", (0u8..10).collect());
        let mut buf = [0u8; 3];
        pollster::block_on(source.read_range(7, &mut buf)).unwrap();
        assert_eq!(buf, [7, 8, 9]);
    }

    #[test]
    fn memory_source_rejects_reads_past_the_end() {
        let source = MemorySource::new("weights.safetensors", vec![0; 10]);
        let mut buf = [0u8; 4];
        let err = pollster::block_on(source.read_range(8, &mut buf)).unwrap_err();
        assert!(matches!(err, MergeError::Io { .. }));
        assert!(err.to_string().contains("weights.safetensors"));
        let err = pollster::block_on(source.read_range(u64::MAX, &mut buf)).unwrap_err();
        assert!(matches!(err, MergeError::Io { .. }));
    }
}
