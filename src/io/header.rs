//! Defensive safetensors header parsing: every length and offset is checked before it is trusted.

use std::collections::BTreeMap;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::source::TensorSource;
use crate::dtype::DType;
use crate::error::{MergeError, Result};

/// Headers larger than this are refused rather than allocated (real ones are well under 10 MiB).
pub const MAX_HEADER_LEN: u64 = 100 * 1024 * 1024;

/// One tensor as the header describes it; `start` is an absolute byte offset in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub start: u64,
    pub len: u64,
}

impl TensorInfo {
    /// Number of elements; a scalar (empty shape) has one.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A parsed header: tensors sorted by their position in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub tensors: Vec<TensorInfo>,
    pub metadata: BTreeMap<String, String>,
    pub data_start: u64,
}

/// Parses and validates `header_json`, the bytes after the 8-byte length prefix of `file`.
pub fn parse_header(file: &str, file_size: u64, header_json: &[u8]) -> Result<Header> {
    let malformed = |reason: String| MergeError::MalformedHeader {
        file: file.to_string(),
        reason,
    };
    let data_start = 8u64
        .checked_add(header_json.len() as u64)
        .filter(|&start| start <= file_size)
        .ok_or_else(|| malformed("header runs past the end of the file".into()))?;
    let text = std::str::from_utf8(header_json)
        .map_err(|e| malformed(format!("header is not valid UTF-8 ({e})")))?;
    let entries = json_object_entries(text).map_err(malformed)?;

    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::with_capacity(entries.len());
    let mut seen_names = std::collections::HashSet::new();
    for (key, value) in entries {
        if !seen_names.insert(key.clone()) {
            return Err(malformed(format!("`{key}` appears twice in the header")));
        }
        if key == "__metadata__" {
            metadata = parse_metadata(value).map_err(malformed)?;
        } else {
            tensors.push(parse_tensor(file, file_size, data_start, key, &value)?);
        }
    }
    tensors.sort_by_key(|t| (t.start, t.len));
    check_no_overlap(file, &tensors)?;
    Ok(Header {
        tensors,
        metadata,
        data_start,
    })
}

/// Reads the length prefix and header of `source`, then parses it.
pub async fn read_header<S: TensorSource>(source: &S) -> Result<Header> {
    let file = source.name();
    let size = source.size();
    let malformed = |reason: String| MergeError::MalformedHeader {
        file: file.to_string(),
        reason,
    };
    if size < 8 {
        return Err(malformed(format!(
            "file is {size} bytes, too short for the 8-byte header length"
        )));
    }
    let mut prefix = [0u8; 8];
    source.read_once(0, &mut prefix).await?;
    let header_len = u64::from_le_bytes(prefix);
    if header_len == 0 {
        return Err(malformed("header length is 0".into()));
    }
    if header_len > MAX_HEADER_LEN {
        return Err(malformed(format!(
            "header length {header_len} exceeds the {MAX_HEADER_LEN}-byte limit"
        )));
    }
    if header_len > size - 8 {
        return Err(malformed(format!(
            "header length {header_len} runs past the end of the file ({size} bytes)"
        )));
    }
    let mut json = vec![0u8; header_len as usize];
    source.read_once(8, &mut json).await?;
    parse_header(file, size, &json)
}

/// Top-level object entries in file order, keeping duplicates so they can be reported.
fn json_object_entries(text: &str) -> std::result::Result<Vec<(String, Value)>, String> {
    struct EntriesVisitor;
    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object mapping tensor names to entries")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = map.next_entry::<String, Value>()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = (&mut de)
        .deserialize_map(EntriesVisitor)
        .and_then(|entries| de.end().map(|()| entries))
        .map_err(|e| format!("header is not a JSON object ({e})"))?;
    Ok(entries)
}

fn parse_metadata(value: Value) -> std::result::Result<BTreeMap<String, String>, String> {
    let Value::Object(map) = value else {
        return Err("`__metadata__` must be an object of strings".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(format!(
                "`__metadata__.{k}` must be a string, found {other}"
            )),
        })
        .collect()
}

fn parse_tensor(
    file: &str,
    file_size: u64,
    data_start: u64,
    name: String,
    value: &Value,
) -> Result<TensorInfo> {
    let bad = |reason: String| MergeError::BadTensor {
        file: file.to_string(),
        tensor: name.clone(),
        reason,
    };
    let entry = value
        .as_object()
        .ok_or_else(|| bad("entry must be an object with dtype, shape and data_offsets".into()))?;
    let dtype_name = entry
        .get("dtype")
        .ok_or_else(|| bad("entry has no `dtype`".into()))?
        .as_str()
        .ok_or_else(|| bad("`dtype` must be a string".into()))?;
    let dtype =
        DType::from_safetensors_name(dtype_name).ok_or_else(|| MergeError::UnsupportedDtype {
            file: file.to_string(),
            tensor: name.clone(),
            dtype: dtype_name.to_string(),
        })?;
    let shape = entry
        .get("shape")
        .ok_or_else(|| bad("entry has no `shape`".into()))?
        .as_array()
        .ok_or_else(|| bad("`shape` must be an array of integers".into()))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad("`shape` must hold non-negative integers".into()))?;
    let offsets = entry
        .get("data_offsets")
        .ok_or_else(|| bad("entry has no `data_offsets`".into()))?
        .as_array()
        .ok_or_else(|| bad("`data_offsets` must be an array [begin, end]".into()))?;
    let [begin, end] = offsets.as_slice() else {
        return Err(bad("`data_offsets` must hold exactly two numbers".into()));
    };
    let (Some(begin), Some(end)) = (begin.as_u64(), end.as_u64()) else {
        return Err(bad("`data_offsets` must be non-negative integers".into()));
    };
    if begin > end {
        return Err(bad(format!(
            "data_offsets begin {begin} is after end {end}"
        )));
    }
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} has too many elements")))?;
    let expected = (numel as u64)
        .checked_mul(dtype.size() as u64)
        .ok_or_else(|| bad(format!("shape {shape:?} is too large in bytes")))?;
    let len = end - begin;
    if len != expected {
        return Err(bad(format!(
            "data_offsets span {len} bytes but shape {shape:?} of {dtype} needs {expected}"
        )));
    }
    let start = data_start
        .checked_add(begin)
        .filter(|s| s.checked_add(len).is_some_and(|e| e <= file_size))
        .ok_or_else(|| {
            bad(format!(
                "data_offsets [{begin}, {end}] run past the end of the file ({file_size} bytes, data starts at {data_start})"
            ))
        })?;
    Ok(TensorInfo {
        name,
        dtype,
        shape,
        start,
        len,
    })
}

/// `tensors` must be sorted by start. Empty tensors occupy no bytes and overlap nothing.
fn check_no_overlap(file: &str, tensors: &[TensorInfo]) -> Result<()> {
    let mut furthest: Option<&TensorInfo> = None;
    for tensor in tensors.iter().filter(|t| t.len > 0) {
        if let Some(prev) = furthest {
            if tensor.start < prev.start + prev.len {
                return Err(MergeError::BadTensor {
                    file: file.to_string(),
                    tensor: tensor.name.clone(),
                    reason: format!("its bytes overlap those of tensor `{}`", prev.name),
                });
            }
        }
        furthest = Some(tensor);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str, data_len: u64) -> Result<Header> {
        parse_header(
            "t.safetensors",
            8 + json.len() as u64 + data_len,
            json.as_bytes(),
        )
    }

    #[test]
    fn parses_tensors_sorted_by_offset_with_absolute_starts() {
        let json = r#"{"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},
                       "a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},
                       "__metadata__":{"format":"pt"}}   "#;
        let header = parse(json, 16).unwrap();
        let data_start = 8 + json.len() as u64;
        assert_eq!(header.data_start, data_start);
        assert_eq!(header.tensors[0].name, "a");
        assert_eq!(header.tensors[0].start, data_start);
        assert_eq!(header.tensors[1].start, data_start + 8);
        assert_eq!(header.tensors[0].numel(), 4);
        assert_eq!(header.metadata["format"], "pt");
    }

    #[test]
    fn scalars_and_empty_tensors_are_legal() {
        let json = r#"{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},
                       "e":{"dtype":"F16","shape":[0,5],"data_offsets":[8,8]},
                       "z":{"dtype":"F16","shape":[0],"data_offsets":[4,4]}}"#;
        let header = parse(json, 8).unwrap();
        assert_eq!(header.tensors.len(), 3);
        let scalar = header.tensors.iter().find(|t| t.name == "s").unwrap();
        assert_eq!(scalar.numel(), 1);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let json = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                       "a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
        let err = parse(json, 8).unwrap_err();
        assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    }

    #[test]
    fn shape_overflow_is_a_bad_tensor() {
        let big = u64::MAX;
        let json =
            format!(r#"{{"a":{{"dtype":"F32","shape":[{big},{big}],"data_offsets":[0,4]}}}}"#);
        let err = parse(&json, 4).unwrap_err();
        assert!(
            matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "a"),
            "{err}"
        );
    }

    #[test]
    fn metadata_must_map_strings_to_strings() {
        let json = r#"{"__metadata__":{"n":3}}"#;
        let err = parse(json, 0).unwrap_err();
        assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
        assert!(err.to_string().contains("__metadata__.n"));
    }

    #[test]
    fn begin_after_end_is_a_bad_tensor() {
        let json = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#;
        let err = parse(json, 8).unwrap_err();
        assert!(matches!(err, MergeError::BadTensor { .. }), "{err}");
    }

    #[test]
    fn wrong_json_types_are_bad_tensors() {
        for entry in [
            r#""x""#,
            r#"{"dtype":1,"shape":[1],"data_offsets":[0,4]}"#,
            r#"{"dtype":"F32","shape":"1","data_offsets":[0,4]}"#,
            r#"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#,
            r#"{"dtype":"F32","shape":[1],"data_offsets":[0]}"#,
            r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}"#,
            r#"{"shape":[1],"data_offsets":[0,4]}"#,
        ] {
            let json = format!(r#"{{"a":{entry}}}"#);
            let err = parse(&json, 4).unwrap_err();
            assert!(
                matches!(err, MergeError::BadTensor { .. }),
                "{entry}: {err}"
            );
        }
    }
}
