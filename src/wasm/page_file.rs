//! A file of a model the page merges: picked from disk, fetched whole from the hub (small
//! files), or streamed from the hub by range requests (weights).

use std::rc::Rc;

use super::blob_source::BlobSource;
use super::fetch_transport::FetchTransport;
use crate::error::{MergeError, Result};
use crate::io::hub::HttpSource;
use crate::io::{MemorySource, TensorSource};

#[derive(Debug, Clone)]
pub enum PageFile {
    Picked(BlobSource),
    Fetched(Rc<MemorySource>),
    Streamed(Rc<HttpSource<FetchTransport>>),
}

impl PageFile {
    /// The whole file, for small files (config.json, an index, a tokenizer).
    pub async fn read_all(&self) -> Result<Vec<u8>> {
        if let PageFile::Fetched(memory) = self {
            return Ok(memory.bytes().to_vec());
        }
        let len = usize::try_from(self.size())
            .map_err(|_| MergeError::io(self.name(), std::io::Error::other("file too large")))?;
        let mut bytes = vec![0; len];
        self.read_range(0, &mut bytes).await?;
        Ok(bytes)
    }
}

impl TensorSource for PageFile {
    fn name(&self) -> &str {
        match self {
            PageFile::Picked(file) => file.name(),
            PageFile::Fetched(file) => file.name(),
            PageFile::Streamed(file) => file.name(),
        }
    }

    fn size(&self) -> u64 {
        match self {
            PageFile::Picked(file) => file.size(),
            PageFile::Fetched(file) => file.size(),
            PageFile::Streamed(file) => file.size(),
        }
    }

    async fn read_once(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            PageFile::Streamed(file) => file.read_once(offset, buf).await,
            _ => self.read_range(offset, buf).await,
        }
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            PageFile::Picked(file) => file.read_range(offset, buf).await,
            PageFile::Fetched(file) => file.read_range(offset, buf).await,
            PageFile::Streamed(file) => file.read_range(offset, buf).await,
        }
    }

    fn view(&self, offset: u64, len: usize) -> Option<&[u8]> {
        match self {
            PageFile::Fetched(file) => file.view(offset, len),
            _ => None,
        }
    }
}
