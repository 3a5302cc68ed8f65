//! A GGUF seen as a safetensors file: a generated header naming the tensors under their HF
//! names and presented dtypes, followed by their values, dequantised on demand. The rest of
//! mixmerge (checkpoints, plans, merges) reads it like any other safetensors file.

use serde_json::{json, Map, Value};

use super::tensors::GgufTensor;
use super::GgufFile;
use crate::error::Result;
use crate::io::source::{check_range, TensorSource};

/// Where each tensor sits in the presented file.
#[derive(Debug, Clone)]
pub struct SafetensorsView {
    /// The 8-byte length prefix and the JSON header, padded to 8 bytes.
    header: Vec<u8>,
    /// Start of each tensor's values in the presented file, in `GgufFile::tensors` order.
    starts: Vec<u64>,
    size: u64,
}

impl SafetensorsView {
    pub fn new(tensors: &[GgufTensor], metadata: Map<String, Value>) -> Self {
        let mut entries = Map::new();
        entries.insert("__metadata__".into(), Value::Object(metadata));
        let mut offset = 0u64;
        let mut relative = Vec::with_capacity(tensors.len());
        for tensor in tensors {
            let len = (tensor.numel() * tensor.dtype().size()) as u64;
            entries.insert(
                tensor.name.clone(),
                json!({"dtype": tensor.dtype().safetensors_name(), "shape": tensor.shape,
                       "data_offsets": [offset, offset + len]}),
            );
            relative.push(offset);
            offset += len;
        }
        let mut json = serde_json::to_vec(&Value::Object(entries)).expect("JSON of plain values");
        json.resize(json.len().next_multiple_of(8), b' ');
        let mut header = (json.len() as u64).to_le_bytes().to_vec();
        header.extend(json);
        let data_start = header.len() as u64;
        SafetensorsView {
            starts: relative.iter().map(|r| data_start + r).collect(),
            size: data_start + offset,
            header,
        }
    }
}

impl<S: TensorSource> TensorSource for GgufFile<S> {
    fn name(&self) -> &str {
        self.source.name()
    }

    fn size(&self) -> u64 {
        self.view.size
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(self.name(), self.size(), offset, buf.len())?;
        let end = offset + buf.len() as u64;
        let header = &self.view.header;
        if offset < header.len() as u64 {
            let from = offset as usize;
            let n = (header.len() - from).min(buf.len());
            buf[..n].copy_from_slice(&header[from..from + n]);
        }
        // The last tensor starting at or before `offset`, then every one up to `end`.
        let first = self
            .view
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        for (tensor, &start) in self.tensors[first..].iter().zip(&self.view.starts[first..]) {
            if start >= end {
                break;
            }
            let size = tensor.dtype().size() as u64;
            let tensor_end = start + tensor.numel() as u64 * size;
            let (lo, hi) = (offset.max(start), end.min(tensor_end));
            if lo >= hi {
                continue;
            }
            let target = &mut buf[(lo - offset) as usize..(hi - offset) as usize];
            let (first_elem, end_elem) = ((lo - start) / size, (hi - start).div_ceil(size));
            let count = (end_elem - first_elem) as usize;
            if (lo - start) % size == 0 && (hi - start) % size == 0 {
                tensor
                    .read(&self.source, first_elem as usize, count, target)
                    .await?;
            } else {
                let mut whole = vec![0u8; count * size as usize];
                tensor
                    .read(&self.source, first_elem as usize, count, &mut whole)
                    .await?;
                let skip = ((lo - start) % size) as usize;
                target.copy_from_slice(&whole[skip..skip + target.len()]);
            }
        }
        Ok(())
    }
}
