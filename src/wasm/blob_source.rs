//! A [`TensorSource`] over a browser `Blob` (a picked `File`): every read is a
//! `slice(a, b).arrayBuffer()`, so only the requested bytes ever reach memory.

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::error::{MergeError, Result};
use crate::io::source::check_range;
use crate::io::TensorSource;

#[derive(Debug, Clone)]
pub struct BlobSource {
    name: String,
    blob: Blob,
    size: u64,
}

impl BlobSource {
    /// `name` is what errors show, e.g. `expert-a/model.safetensors`.
    pub fn new(name: impl Into<String>, blob: Blob) -> Self {
        let size = blob.size() as u64;
        BlobSource {
            name: name.into(),
            blob,
            size,
        }
    }

    pub fn blob(&self) -> &Blob {
        &self.blob
    }

    /// The whole blob, for small files (config.json, an index).
    pub async fn read_all(&self) -> Result<Vec<u8>> {
        let len = usize::try_from(self.size).map_err(|_| self.error("file too large".into()))?;
        let mut bytes = vec![0; len];
        self.read_range(0, &mut bytes).await?;
        Ok(bytes)
    }

    fn error(&self, reason: String) -> MergeError {
        MergeError::io(&self.name, std::io::Error::other(reason))
    }
}

impl TensorSource for BlobSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> u64 {
        self.size
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&self.name, self.size, offset, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset + buf.len() as u64;
        // Offsets are exact in an f64 up to 2^53 bytes.
        let slice = self
            .blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|e| self.error(js_message(&e)))?;
        let buffer = JsFuture::from(slice.array_buffer())
            .await
            .map_err(|e| self.error(format!("read failed: {}", js_message(&e))))?;
        let buffer: ArrayBuffer = buffer
            .dyn_into()
            .map_err(|_| self.error("read returned no ArrayBuffer".into()))?;
        let bytes = Uint8Array::new(&buffer);
        if bytes.length() as usize != buf.len() {
            return Err(self.error(format!(
                "asked for {} bytes at offset {offset}, got {} (was the file changed?)",
                buf.len(),
                bytes.length()
            )));
        }
        bytes.copy_to(buf);
        Ok(())
    }
}

/// A JS exception or rejection as text.
pub fn js_message(value: &wasm_bindgen::JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
