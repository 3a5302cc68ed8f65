//! Malformed and hostile inputs: each is refused with the exact error variant, naming the culprit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mixmerge::dtype::DType;
use mixmerge::io::{
    header_bytes, open_checkpoint, open_model, Checkpoint, HubModel, HubSettings, MemorySource,
    OutputTensor, INDEX_FILE, MAX_HEADER_LEN,
};
use mixmerge::MergeError;

/// A safetensors file from raw header JSON and `data_len` zero bytes of data.
fn raw_file(json: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(json.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

/// A well-formed file holding F32 tensors of four elements each.
fn valid_file(names: &[&str]) -> Vec<u8> {
    let tensors: Vec<_> = names
        .iter()
        .map(|name| OutputTensor {
            name: name.to_string(),
            dtype: DType::F32,
            shape: vec![4],
        })
        .collect();
    let mut bytes = header_bytes(&tensors, &BTreeMap::new());
    bytes.resize(bytes.len() + 16 * names.len(), 0);
    bytes
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Writes `bytes` as a .safetensors file, opens it, and returns the error and the file's path.
fn open_bytes(bytes: &[u8]) -> (MergeError, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = put(dir.path(), "model.safetensors", bytes);
    let err = open_checkpoint(&path).expect_err("malformed input must be refused");
    (err, path.display().to_string())
}

fn assert_names(err: &MergeError, words: &[&str]) {
    let message = err.to_string();
    for word in words {
        assert!(
            message.contains(word),
            "`{message}` should mention `{word}`"
        );
    }
}

#[test]
fn truncated_file_shorter_than_the_length_prefix() {
    let (err, file) = open_bytes(&[1, 0, 0]);
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "too short"]);
}

#[test]
fn header_length_past_end_of_file() {
    let mut bytes = raw_file(
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        4,
    );
    bytes[..8].copy_from_slice(&1000u64.to_le_bytes());
    let (err, file) = open_bytes(&bytes);
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "past the end"]);
}

#[test]
fn huge_header_length_is_refused_before_allocating() {
    for claimed in [MAX_HEADER_LEN + 1, u64::MAX] {
        let mut bytes = raw_file("{}", 0);
        bytes[..8].copy_from_slice(&claimed.to_le_bytes());
        let (err, file) = open_bytes(&bytes);
        assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
        assert_names(&err, &[&file, "limit"]);
    }
}

#[test]
fn zero_header_length() {
    let (err, file) = open_bytes(&0u64.to_le_bytes());
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "0"]);
}

#[test]
fn header_that_is_not_json() {
    let (err, file) = open_bytes(&raw_file("this is not json", 0));
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "JSON"]);
}

#[test]
fn header_that_is_not_utf8() {
    let mut bytes = raw_file("{\"a\":  }", 0);
    bytes[13] = 0xFF;
    let (err, file) = open_bytes(&bytes);
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "UTF-8"]);
}

#[test]
fn header_that_is_a_json_array() {
    let (err, file) = open_bytes(&raw_file("[1, 2, 3]", 0));
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "object"]);
}

#[test]
fn entry_missing_data_offsets() {
    let (err, file) = open_bytes(&raw_file(r#"{"w":{"dtype":"F32","shape":[1]}}"#, 4));
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "w"),
        "{err}"
    );
    assert_names(&err, &[&file, "data_offsets"]);
}

#[test]
fn unsupported_dtype_is_named() {
    let json = r#"{"q":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}"#;
    let (err, file) = open_bytes(&raw_file(json, 4));
    assert!(
        matches!(err, MergeError::UnsupportedDtype { ref tensor, ref dtype, .. } if tensor == "q" && dtype == "I8"),
        "{err}"
    );
    assert_names(&err, &[&file]);
}

#[test]
fn shape_and_byte_length_disagree() {
    let json = r#"{"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]}}"#;
    let (err, file) = open_bytes(&raw_file(json, 8));
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "w"),
        "{err}"
    );
    assert_names(&err, &[&file, "12"]);
}

#[test]
fn data_offsets_past_end_of_file() {
    let json = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let (err, file) = open_bytes(&raw_file(json, 8));
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "w"),
        "{err}"
    );
    assert_names(&err, &[&file, "past the end"]);
}

#[test]
fn overlapping_tensors() {
    let json = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},
                   "b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#;
    let (err, file) = open_bytes(&raw_file(json, 16));
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "b"),
        "{err}"
    );
    assert_names(&err, &[&file, "overlap", "`a`"]);
}

#[test]
fn offsets_near_u64_max_do_not_overflow() {
    let end = u64::MAX;
    let begin = end - 4;
    let json = format!(r#"{{"w":{{"dtype":"F32","shape":[1],"data_offsets":[{begin},{end}]}}}}"#);
    let (err, file) = open_bytes(&raw_file(&json, 4));
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "w"),
        "{err}"
    );
    assert_names(&err, &[&file]);
}

#[test]
fn shape_product_overflow() {
    let json = r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#;
    let (err, file) = open_bytes(&raw_file(json, 4));
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "w"),
        "{err}"
    );
    assert_names(&err, &[&file]);
}

#[test]
fn metadata_that_is_not_a_string_map() {
    let json = r#"{"__metadata__":{"layers":32}}"#;
    let (err, file) = open_bytes(&raw_file(json, 0));
    assert!(matches!(err, MergeError::MalformedHeader { .. }), "{err}");
    assert_names(&err, &[&file, "__metadata__"]);
}

#[test]
fn trailing_space_padding_is_legal() {
    let json = r#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}         "#;
    let dir = tempfile::tempdir().unwrap();
    let path = put(dir.path(), "model.safetensors", &raw_file(json, 4));
    assert!(open_checkpoint(&path).unwrap().get("w").is_some());
}

#[test]
fn duplicate_tensor_across_shards() {
    let shards = vec![
        MemorySource::new(
            "model-00001-of-00002.safetensors",
            valid_file(&["a", "shared"]),
        ),
        MemorySource::new(
            "model-00002-of-00002.safetensors",
            valid_file(&["shared", "b"]),
        ),
    ];
    let result = pollster::block_on(Checkpoint::from_sources("m".into(), shards, None));
    let err = result.expect_err("duplicate must be refused");
    assert!(
        matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "shared"),
        "{err}"
    );
    assert_names(
        &err,
        &[
            "model-00002-of-00002.safetensors",
            "model-00001-of-00002.safetensors",
        ],
    );
}

/// A two-shard folder with the given index JSON.
fn sharded_folder(index: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "model-00001-of-00002.safetensors",
        &valid_file(&["a"]),
    );
    put(
        dir.path(),
        "model-00002-of-00002.safetensors",
        &valid_file(&["b"]),
    );
    put(dir.path(), INDEX_FILE, index.as_bytes());
    dir
}

#[test]
fn a_correct_index_opens() {
    let dir = sharded_folder(
        r#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
    );
    let checkpoint = open_checkpoint(dir.path()).unwrap();
    assert_eq!(checkpoint.order, ["a", "b"]);
}

#[test]
fn index_naming_a_missing_shard_file() {
    let dir = sharded_folder(
        r#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00003-of-00003.safetensors"}}"#,
    );
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::BadIndex { .. }), "{err}");
    assert_names(&err, &[INDEX_FILE, "model-00003-of-00003.safetensors"]);
}

#[test]
fn index_placing_a_tensor_in_the_wrong_shard() {
    let dir = sharded_folder(
        r#"{"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
    );
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::BadIndex { .. }), "{err}");
    assert_names(&err, &[INDEX_FILE, "`a`"]);
}

#[test]
fn index_missing_a_tensor_the_shards_hold() {
    let dir = sharded_folder(r#"{"weight_map":{"a":"model-00001-of-00002.safetensors"}}"#);
    // Only shard 1 is named, so shard 2's tensor `b` is unaccounted for.
    let index = std::fs::read(dir.path().join(INDEX_FILE)).unwrap();
    let shards = vec![
        mixmerge::io::FileSource::open(&dir.path().join("model-00001-of-00002.safetensors"))
            .unwrap(),
        mixmerge::io::FileSource::open(&dir.path().join("model-00002-of-00002.safetensors"))
            .unwrap(),
    ];
    let result = pollster::block_on(Checkpoint::from_sources(
        "m".into(),
        shards,
        Some((INDEX_FILE, &index)),
    ));
    let err = result.expect_err("unlisted tensor must be refused");
    assert!(matches!(err, MergeError::BadIndex { .. }), "{err}");
    assert_names(&err, &[INDEX_FILE, "`b`"]);
}

#[test]
fn index_listing_a_tensor_no_shard_holds() {
    let dir = sharded_folder(
        r#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","ghost":"model-00002-of-00002.safetensors"}}"#,
    );
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::BadIndex { .. }), "{err}");
    assert_names(&err, &[INDEX_FILE, "`ghost`"]);
}

#[test]
fn index_weight_map_of_wrong_type() {
    for index in [
        r#"{"weight_map":["a"]}"#,
        r#"{"weight_map":{"a":1}}"#,
        r#"{"metadata":{}}"#,
    ] {
        let dir = sharded_folder(index);
        let err = open_checkpoint(dir.path()).unwrap_err();
        assert!(matches!(err, MergeError::BadIndex { .. }), "{index}: {err}");
        assert_names(&err, &[INDEX_FILE]);
    }
}

#[test]
fn index_shard_name_escaping_the_folder() {
    let dir = sharded_folder(r#"{"weight_map":{"a":"../model-00001-of-00002.safetensors"}}"#);
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::BadIndex { .. }), "{err}");
}

#[test]
fn several_safetensors_without_an_index_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "first.safetensors", &valid_file(&["a"]));
    put(dir.path(), "second.safetensors", &valid_file(&["b"]));
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::BadIndex { .. }), "{err}");
    assert_names(&err, &["first.safetensors", "second.safetensors"]);
}

#[test]
fn pickle_bin_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = put(dir.path(), "pytorch_model.bin", b"\x80\x02pickle");
    let err = open_checkpoint(&path).unwrap_err();
    assert!(
        matches!(err, MergeError::PickleRefused { ref file } if file.ends_with("pytorch_model.bin")),
        "{err}"
    );
}

#[test]
fn folder_with_only_pickle_weights_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "config.json", b"{}");
    put(dir.path(), "pytorch_model-00001-of-00002.bin", b"x");
    put(dir.path(), "pytorch_model-00002-of-00002.bin", b"x");
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::PickleRefused { .. }), "{err}");
    assert_names(&err, &["pytorch_model-00001-of-00002.bin"]);
}

#[test]
fn an_uncached_hub_id_offline_is_refused_naming_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let settings = HubSettings {
        cache: Some(cache.path().to_path_buf()),
        offline: true,
        ..HubSettings::for_endpoint("http://127.0.0.1:9")
    };
    let model = HubModel::parse("meta-llama/Llama-3.2-1B").unwrap();
    let Err(err) = open_model(
        Path::new("meta-llama/Llama-3.2-1B"),
        Some(&model),
        &settings,
    ) else {
        panic!("an uncached model offline must fail");
    };
    assert!(
        matches!(err, MergeError::HubReference { ref reference, .. } if reference == "meta-llama/Llama-3.2-1B@main"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&cache.path().display().to_string()),
        "{err}"
    );
    // Without a hub id the same missing path is simply not found.
    let err = open_checkpoint(Path::new("meta-llama/Llama-3.2-1B")).unwrap_err();
    assert!(matches!(err, MergeError::ModelNotFound { .. }), "{err}");
}

#[test]
fn missing_path_is_not_found() {
    for path in [
        "/definitely/not/here/model",
        "./no-such-model",
        "no-such-model",
    ] {
        let err = open_checkpoint(Path::new(path)).unwrap_err();
        assert!(
            matches!(err, MergeError::ModelNotFound { path: ref p } if p == path),
            "{err}"
        );
    }
}

#[test]
fn folder_with_nothing_usable_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "README.md", b"hello");
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::ModelNotFound { .. }), "{err}");
}

/// Cheap stand-in for a fuzzer: corrupting any byte of a valid header never panics.
#[test]
fn corrupted_headers_are_refused_or_parsed_never_panic() {
    let original = valid_file(&["model.layers.0.weight", "model.layers.1.weight"]);
    let header_end = 8 + u64::from_le_bytes(original[..8].try_into().unwrap()) as usize;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() as usize) % header_end;
            bytes[at] = next() as u8;
        }
        let source = MemorySource::new("fuzz.safetensors", bytes);
        let _ = pollster::block_on(Checkpoint::from_sources("fuzz".into(), vec![source], None));
    }
}
