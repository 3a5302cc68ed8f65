//! A checkpoint file as the merge reads it: safetensors directly, GGUF through its safetensors
//! view. Generic over where bytes come from (a native file, a browser `Blob`).

use super::gguf::GgufFile;
use super::source::TensorSource;
use crate::error::Result;

#[derive(Debug)]
pub enum InputSource<S> {
    Safetensors(S),
    Gguf(Box<GgufFile<S>>),
}

/// A checkpoint file the native merge reads: on disk or streamed from the hub.
#[cfg(not(target_arch = "wasm32"))]
pub type LocalSource = InputSource<super::native_source::NativeSource>;

impl<S: TensorSource> InputSource<S> {
    /// Reads the GGUF header of `source`.
    pub async fn gguf(source: S) -> Result<Self> {
        Ok(InputSource::Gguf(Box::new(GgufFile::open(source).await?)))
    }

    /// The GGUF file behind this source, if it is one.
    pub fn as_gguf(&self) -> Option<&GgufFile<S>> {
        match self {
            InputSource::Gguf(file) => Some(file),
            InputSource::Safetensors(_) => None,
        }
    }
}

impl<S: TensorSource> TensorSource for InputSource<S> {
    fn name(&self) -> &str {
        match self {
            InputSource::Safetensors(file) => file.name(),
            InputSource::Gguf(file) => file.name(),
        }
    }

    fn size(&self) -> u64 {
        match self {
            InputSource::Safetensors(file) => file.size(),
            InputSource::Gguf(file) => file.size(),
        }
    }

    async fn read_once(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            InputSource::Safetensors(file) => file.read_once(offset, buf).await,
            InputSource::Gguf(file) => file.read_range(offset, buf).await,
        }
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            InputSource::Safetensors(file) => file.read_range(offset, buf).await,
            InputSource::Gguf(file) => file.read_range(offset, buf).await,
        }
    }

    // A GGUF's safetensors view is assembled from its blocks: it is read, never viewed.
    fn view(&self, offset: u64, len: usize) -> Option<&[u8]> {
        match self {
            InputSource::Safetensors(file) => file.view(offset, len),
            InputSource::Gguf(_) => None,
        }
    }

    fn release(&self, offset: u64, len: usize) {
        if let InputSource::Safetensors(file) = self {
            file.release(offset, len);
        }
    }
}
