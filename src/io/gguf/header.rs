//! Defensive GGUF (v2, v3) header parsing: every count, length and offset is checked before use.

use std::collections::{BTreeMap, HashSet};

use super::cursor::{malformed, Cursor, Parse, Stop};
use super::metadata::{read_value, MetadataValue};
use super::types::GgmlType;
use crate::error::{MergeError, Result};
use crate::io::source::TensorSource;

/// Headers (metadata + tensor table) larger than this are refused; real ones are a few MB,
/// most of it tokenizer vocabulary.
pub const MAX_GGUF_HEADER_LEN: u64 = 64 * 1024 * 1024;
const MAGIC: &[u8; 4] = b"GGUF";
/// ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;
const MAX_NAME_LEN: u64 = 64 * 1024;
const DEFAULT_ALIGNMENT: u64 = 32;

/// A tensor as the GGUF header describes it, in ggml dimension order (fastest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufTensorInfo {
    pub name: String,
    pub dims: Vec<usize>,
    pub kind: GgmlType,
    /// Absolute byte offset of the first block in the file.
    pub start: u64,
    pub len: u64,
}

impl GgufTensorInfo {
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }
}

#[derive(Debug, Clone)]
pub struct GgufHeader {
    pub version: u32,
    pub metadata: BTreeMap<String, MetadataValue>,
    /// Tensors in file order (sorted by offset).
    pub tensors: Vec<GgufTensorInfo>,
    pub data_start: u64,
}

/// The tensor table before the types and offsets are checked.
struct RawTensor {
    name: String,
    dims: Vec<u64>,
    type_id: u32,
    offset: u64,
}

/// Reads the header of `source`, fetching more of the file until the header fits.
pub async fn read_gguf_header<S: TensorSource>(source: &S) -> Result<GgufHeader> {
    let file = source.name();
    let size = source.size();
    let limit = size.min(MAX_GGUF_HEADER_LEN);
    let mut prefix_len = limit.min(1 << 20);
    loop {
        let mut prefix = vec![0u8; prefix_len as usize];
        source.read_range(0, &mut prefix).await?;
        match parse_gguf_header(file, size, &prefix) {
            Err(Stop::NeedMore) if prefix_len < limit => prefix_len = (prefix_len * 4).min(limit),
            Err(Stop::NeedMore) => {
                return Err(MergeError::MalformedGguf {
                    file: file.to_string(),
                    reason: format!("header is longer than the {MAX_GGUF_HEADER_LEN}-byte limit"),
                })
            }
            Err(Stop::Malformed(reason)) => {
                return Err(MergeError::MalformedGguf {
                    file: file.to_string(),
                    reason,
                })
            }
            Ok(parsed) => return parsed,
        }
    }
}

/// Parses the header from `prefix`, the first bytes of `file` (`file_size` bytes in all).
/// The outer result asks for more bytes or reports a malformed layout; the inner one reports
/// tensors that parse but cannot be used.
pub fn parse_gguf_header(file: &str, file_size: u64, prefix: &[u8]) -> Parse<Result<GgufHeader>> {
    let mut cursor = Cursor::new(prefix, file_size);
    let magic = cursor.array::<4>("magic")?;
    if &magic != MAGIC {
        return malformed(format!(
            "magic is {magic:02x?}, not \"GGUF\" (is this a GGUF file?)"
        ));
    }
    let version = cursor.u32("version")?;
    match version {
        2 | 3 => {}
        1 => return malformed("GGUF v1 is not supported (re-convert the model to v3)"),
        v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
            return malformed("big-endian GGUF is not supported")
        }
        v => return malformed(format!("unknown GGUF version {v}")),
    }
    let tensor_count = cursor.count(24, "tensor count")?;
    let kv_count = cursor.count(13, "metadata key count")?;
    let mut metadata = BTreeMap::new();
    for i in 0..kv_count {
        let key = cursor.string(MAX_NAME_LEN, &format!("name of metadata key {i}"))?;
        let kind = cursor.u32(&format!("type of `{key}`"))?;
        let value = read_value(&mut cursor, kind, &key, 0)?;
        if metadata.insert(key.clone(), value).is_some() {
            return malformed(format!("metadata key `{key}` appears twice"));
        }
    }
    let mut raw = Vec::with_capacity(tensor_count.min(1 << 16) as usize);
    for i in 0..tensor_count {
        let name = cursor.string(MAX_NAME_LEN, &format!("name of tensor {i}"))?;
        let n_dims = cursor.u32(&format!("dimension count of `{name}`"))?;
        if n_dims > MAX_DIMS {
            return malformed(format!(
                "tensor `{name}` has {n_dims} dimensions, more than ggml's {MAX_DIMS}"
            ));
        }
        let dims = (0..n_dims)
            .map(|_| cursor.u64(&format!("shape of `{name}`")))
            .collect::<Parse<Vec<u64>>>()?;
        let type_id = cursor.u32(&format!("type of `{name}`"))?;
        let offset = cursor.u64(&format!("offset of `{name}`"))?;
        raw.push(RawTensor {
            name,
            dims,
            type_id,
            offset,
        });
    }
    let alignment = alignment(&metadata)?;
    let header_end = cursor.position();
    let data_start = header_end.div_ceil(alignment) * alignment;
    Ok(
        check_tensors(file, file_size, data_start, alignment, raw).map(|tensors| GgufHeader {
            version,
            metadata,
            tensors,
            data_start,
        }),
    )
}

fn alignment(metadata: &BTreeMap<String, MetadataValue>) -> Parse<u64> {
    let Some(value) = metadata.get("general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match value.as_u64() {
        Some(a) if a.is_power_of_two() => Ok(a),
        _ => malformed(format!(
            "`general.alignment` is {}, not a power of two",
            value.summary()
        )),
    }
}

fn check_tensors(
    file: &str,
    file_size: u64,
    data_start: u64,
    alignment: u64,
    raw: Vec<RawTensor>,
) -> Result<Vec<GgufTensorInfo>> {
    let mut seen = HashSet::new();
    let mut tensors = Vec::with_capacity(raw.len());
    for tensor in raw {
        let bad = |reason: String| MergeError::BadTensor {
            file: file.to_string(),
            tensor: tensor.name.clone(),
            reason,
        };
        if !seen.insert(tensor.name.clone()) {
            return Err(bad("appears twice in the tensor table".into()));
        }
        let kind =
            GgmlType::from_id(tensor.type_id).map_err(|kind| MergeError::UnsupportedGgufType {
                file: file.to_string(),
                tensor: tensor.name.clone(),
                kind,
            })?;
        let dims = tensor
            .dims
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad(format!("shape {:?} does not fit in memory", tensor.dims)))?;
        let numel = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .filter(|&n| usize::try_from(n).is_ok())
            .ok_or_else(|| bad(format!("shape {dims:?} has too many elements")))?;
        let row = dims.first().copied().unwrap_or(1);
        if row % kind.block_len() != 0 {
            return Err(bad(format!(
                "rows of {row} values are not whole {kind} blocks of {}",
                kind.block_len()
            )));
        }
        let len = (numel / kind.block_len() as u64)
            .checked_mul(kind.block_bytes() as u64)
            .ok_or_else(|| bad(format!("shape {dims:?} is too large in bytes")))?;
        if tensor.offset % alignment != 0 {
            return Err(bad(format!(
                "offset {} is not a multiple of the alignment {alignment}",
                tensor.offset
            )));
        }
        let start = data_start
            .checked_add(tensor.offset)
            .filter(|s| s.checked_add(len).is_some_and(|end| end <= file_size))
            .ok_or_else(|| {
                bad(format!(
                    "its {len} bytes at offset {} run past the end of the file ({file_size} bytes, data starts at {data_start})",
                    tensor.offset
                ))
            })?;
        tensors.push(GgufTensorInfo {
            name: tensor.name,
            dims,
            kind,
            start,
            len,
        });
    }
    tensors.sort_by_key(|t| (t.start, t.len));
    let stored: Vec<&GgufTensorInfo> = tensors.iter().filter(|t| t.len > 0).collect();
    for pair in stored.windows(2) {
        if pair[1].start < pair[0].start + pair[0].len {
            return Err(MergeError::BadTensor {
                file: file.to_string(),
                tensor: pair[1].name.clone(),
                reason: format!("its bytes overlap those of tensor `{}`", pair[0].name),
            });
        }
    }
    Ok(tensors)
}
