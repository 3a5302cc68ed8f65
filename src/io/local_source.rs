//! A checkpoint file on disk as the merge reads it: safetensors directly, GGUF through its
//! safetensors view.

use std::path::Path;

use super::file_source::FileSource;
use super::gguf::GgufFile;
use super::source::TensorSource;
use crate::error::Result;

#[derive(Debug)]
pub enum LocalSource {
    Safetensors(FileSource),
    Gguf(Box<GgufFile<FileSource>>),
}

impl LocalSource {
    pub fn safetensors(path: &Path) -> Result<Self> {
        FileSource::open(path).map(LocalSource::Safetensors)
    }

    /// Opens `path` and reads its GGUF header.
    pub fn gguf(path: &Path) -> Result<Self> {
        let file = pollster::block_on(GgufFile::open(FileSource::open(path)?))?;
        Ok(LocalSource::Gguf(Box::new(file)))
    }

    /// The GGUF file behind this source, if it is one.
    pub fn as_gguf(&self) -> Option<&GgufFile<FileSource>> {
        match self {
            LocalSource::Gguf(file) => Some(file),
            LocalSource::Safetensors(_) => None,
        }
    }
}

impl TensorSource for LocalSource {
    fn name(&self) -> &str {
        match self {
            LocalSource::Safetensors(file) => file.name(),
            LocalSource::Gguf(file) => file.name(),
        }
    }

    fn size(&self) -> u64 {
        match self {
            LocalSource::Safetensors(file) => file.size(),
            LocalSource::Gguf(file) => file.size(),
        }
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            LocalSource::Safetensors(file) => file.read_range(offset, buf).await,
            LocalSource::Gguf(file) => file.read_range(offset, buf).await,
        }
    }
}
