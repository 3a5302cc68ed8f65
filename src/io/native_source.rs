//! A checkpoint file the native merge reads: on disk (mapped), or on the hub (streamed).

use super::file_source::FileSource;
use super::hub::NativeHubSource;
use super::source::TensorSource;
use crate::error::Result;

#[derive(Debug)]
pub enum NativeSource {
    File(FileSource),
    Hub(Box<NativeHubSource>),
}

impl TensorSource for NativeSource {
    fn name(&self) -> &str {
        match self {
            NativeSource::File(file) => file.name(),
            NativeSource::Hub(file) => file.name(),
        }
    }

    fn size(&self) -> u64 {
        match self {
            NativeSource::File(file) => file.size(),
            NativeSource::Hub(file) => file.size(),
        }
    }

    async fn read_once(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            NativeSource::File(file) => file.read_range(offset, buf).await,
            NativeSource::Hub(file) => file.read_once(offset, buf).await,
        }
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self {
            NativeSource::File(file) => file.read_range(offset, buf).await,
            NativeSource::Hub(file) => file.read_range(offset, buf).await,
        }
    }

    fn view(&self, offset: u64, len: usize) -> Option<&[u8]> {
        match self {
            NativeSource::File(file) => file.view(offset, len),
            NativeSource::Hub(_) => None,
        }
    }

    fn release(&self, offset: u64, len: usize) {
        if let NativeSource::File(file) = self {
            file.release(offset, len);
        }
    }
}
