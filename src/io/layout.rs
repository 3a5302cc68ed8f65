//! What a written checkpoint looks like before any tensor byte exists: shard split, headers, index.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::{json, Map, Value};

use crate::dtype::DType;

/// A tensor the merge will produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl OutputTensor {
    /// Size on disk, or `None` if it does not fit in a u64.
    pub fn checked_byte_len(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(self.dtype.size() as u64, |acc, &d| {
                acc.checked_mul(d as u64)
            })
    }

    /// Size on disk. Panics on overflow; `ShardWriter::new` rejects such tensors up front.
    pub fn byte_len(&self) -> u64 {
        self.checked_byte_len()
            .unwrap_or_else(|| panic!("tensor `{}` is too large to write", self.name))
    }
}

/// Which tensors go in which file; ranges are contiguous and cover the tensor list in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLayout {
    pub files: Vec<String>,
    pub tensors_per_shard: Vec<Range<usize>>,
}

/// The name of the index written beside sharded checkpoints.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// Splits tensors greedily in order so each shard's data stays under `max_shard_bytes`;
/// a tensor larger than the limit gets a shard of its own.
pub fn plan_shards(tensors: &[OutputTensor], max_shard_bytes: u64) -> ShardLayout {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut current_bytes = 0u64;
    for (i, tensor) in tensors.iter().enumerate() {
        let len = tensor.byte_len();
        match ranges.last_mut() {
            Some(last) if current_bytes.saturating_add(len) <= max_shard_bytes => {
                last.end = i + 1;
                current_bytes += len;
            }
            _ => {
                ranges.push(i..i + 1);
                current_bytes = len;
            }
        }
    }
    if ranges.is_empty() {
        ranges.push(0..0);
    }
    let count = ranges.len();
    let files = (1..=count)
        .map(|i| match count {
            1 => "model.safetensors".to_string(),
            _ => format!("model-{i:05}-of-{count:05}.safetensors"),
        })
        .collect();
    ShardLayout {
        files,
        tensors_per_shard: ranges,
    }
}

/// A complete safetensors header: 8-byte little-endian length, then JSON padded with spaces
/// to a multiple of 8 so tensor data starts aligned. Data offsets follow the given order.
pub fn header_bytes(tensors: &[OutputTensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut entries = Map::new();
    if !metadata.is_empty() {
        entries.insert("__metadata__".into(), json!(metadata));
    }
    let mut offset = 0u64;
    for tensor in tensors {
        let end = offset + tensor.byte_len();
        entries.insert(
            tensor.name.clone(),
            json!({
                "dtype": tensor.dtype.safetensors_name(),
                "shape": tensor.shape,
                "data_offsets": [offset, end],
            }),
        );
        offset = end;
    }
    let mut text =
        serde_json::to_vec(&Value::Object(entries)).expect("JSON of strings and numbers");
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut bytes = Vec::with_capacity(8 + text.len());
    bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&text);
    bytes
}

/// `model.safetensors.index.json` in the Hugging Face shape: total data size and tensor → file.
pub fn index_json(
    layout: &ShardLayout,
    tensors: &[OutputTensor],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let total_size: u64 = tensors.iter().map(OutputTensor::byte_len).sum();
    let mut meta = Map::new();
    meta.insert("total_size".into(), json!(total_size));
    for (key, value) in metadata {
        if key != "total_size" {
            meta.insert(key.clone(), json!(value));
        }
    }
    let mut weight_map = Map::new();
    for (file, range) in layout.files.iter().zip(&layout.tensors_per_shard) {
        for tensor in &tensors[range.clone()] {
            weight_map.insert(tensor.name.clone(), json!(file));
        }
    }
    let index = json!({ "metadata": meta, "weight_map": weight_map });
    let mut bytes = serde_json::to_vec_pretty(&index).expect("JSON of strings and numbers");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, elements: usize) -> OutputTensor {
        OutputTensor {
            name: name.into(),
            dtype: DType::F32,
            shape: vec![elements],
        }
    }

    #[test]
    fn one_shard_is_named_model_safetensors() {
        let layout = plan_shards(&[tensor("a", 4), tensor("b", 4)], 1 << 20);
        assert_eq!(layout.files, ["model.safetensors"]);
        assert_eq!(layout.tensors_per_shard, vec![0..2usize]);
    }

    #[test]
    fn greedy_split_gives_oversized_tensors_their_own_shard() {
        // 16, 16, 64, 16 bytes with a 32-byte limit.
        let tensors = [
            tensor("a", 4),
            tensor("b", 4),
            tensor("big", 16),
            tensor("c", 4),
        ];
        let layout = plan_shards(&tensors, 32);
        assert_eq!(layout.tensors_per_shard, [0..2, 2..3, 3..4]);
        assert_eq!(layout.files[0], "model-00001-of-00003.safetensors");
        assert_eq!(layout.files[2], "model-00003-of-00003.safetensors");
    }

    #[test]
    fn no_tensors_still_makes_one_file() {
        let layout = plan_shards(&[], 10);
        assert_eq!(layout.files, ["model.safetensors"]);
        assert_eq!(layout.tensors_per_shard, vec![0..0usize]);
    }

    #[test]
    fn header_is_padded_and_metadata_comes_first() {
        let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        let bytes = header_bytes(&[tensor("w", 3)], &meta);
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(bytes.len(), 8 + len);
        assert_eq!(len % 8, 0);
        let text = std::str::from_utf8(&bytes[8..]).unwrap();
        assert!(
            text.starts_with(r#"{"__metadata__":{"format":"pt"},"w":"#),
            "{text}"
        );
        assert!(text.contains(r#""data_offsets":[0,12]"#), "{text}");
    }

    #[test]
    fn overflowing_shapes_have_no_byte_length() {
        let huge = OutputTensor {
            name: "x".into(),
            dtype: DType::F64,
            shape: vec![usize::MAX, 2],
        };
        assert_eq!(huge.checked_byte_len(), None);
    }
}
