//! Malformed GGUF files: each is refused with the exact error variant, naming the file (and
//! the tensor or key where there is one), before anything large is allocated.

use std::path::{Path, PathBuf};

use mixmerge::error::MergeError;
use mixmerge::io::open_checkpoint;

/// A GGUF file built field by field, so each test can break exactly one thing.
struct Gguf {
    magic: [u8; 4],
    version: u32,
    tensor_count: Option<u64>,
    kv_count: Option<u64>,
    kvs: Vec<u8>,
    kv_entries: u64,
    tensors: Vec<(String, Vec<u64>, u32, u64)>,
    data: Vec<u8>,
}

const F32: u32 = 0;
const Q8_0: u32 = 8;

impl Gguf {
    /// One valid 8-value F32 tensor named `w`.
    fn valid() -> Self {
        Gguf {
            magic: *b"GGUF",
            version: 3,
            tensor_count: None,
            kv_count: None,
            kvs: Vec::new(),
            kv_entries: 0,
            tensors: vec![("w".into(), vec![8], F32, 0)],
            data: vec![0; 32],
        }
    }

    fn kv(mut self, key: &str, kind: u32, value: &[u8]) -> Self {
        self.kvs.extend(string(key));
        self.kvs.extend(kind.to_le_bytes());
        self.kvs.extend(value);
        self.kv_entries += 1;
        self
    }

    fn tensor(mut self, name: &str, dims: &[u64], kind: u32, offset: u64) -> Self {
        self.tensors
            .push((name.into(), dims.to_vec(), kind, offset));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.magic.to_vec();
        out.extend(self.version.to_le_bytes());
        let tensor_count = self.tensor_count.unwrap_or(self.tensors.len() as u64);
        out.extend(tensor_count.to_le_bytes());
        out.extend(self.kv_count.unwrap_or(self.kv_entries).to_le_bytes());
        out.extend(&self.kvs);
        for (name, dims, kind, offset) in &self.tensors {
            out.extend(string(name));
            out.extend((dims.len() as u32).to_le_bytes());
            dims.iter().for_each(|d| out.extend(d.to_le_bytes()));
            out.extend(kind.to_le_bytes());
            out.extend(offset.to_le_bytes());
        }
        out.resize(out.len().next_multiple_of(32), 0);
        out.extend(&self.data);
        out
    }
}

fn string(text: &str) -> Vec<u8> {
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text.as_bytes());
    out
}

fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("model.gguf");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Opens `bytes` as a .gguf and returns the error, checking that it names the file.
fn refuse(bytes: &[u8]) -> MergeError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), bytes);
    let err = open_checkpoint(&path).expect_err("malformed GGUF must be refused");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    err
}

fn assert_malformed(err: MergeError, words: &str) {
    match &err {
        MergeError::MalformedGguf { reason, .. } => assert!(reason.contains(words), "{err}"),
        other => panic!("expected MalformedGguf mentioning `{words}`, got {other:?}"),
    }
}

fn assert_bad_tensor(err: MergeError, name: &str, words: &str) {
    match &err {
        MergeError::BadTensor { tensor, reason, .. } => {
            assert_eq!(tensor, name, "{err}");
            assert!(reason.contains(words), "{err}");
        }
        other => panic!("expected BadTensor `{name}` mentioning `{words}`, got {other:?}"),
    }
}

#[test]
fn the_valid_base_file_opens_as_v3_and_v2() {
    for version in [3, 2] {
        let dir = tempfile::tempdir().unwrap();
        let mut file = Gguf::valid();
        file.version = version;
        let checkpoint = open_checkpoint(&write(dir.path(), &file.bytes())).unwrap();
        assert_eq!(checkpoint.order, ["w"], "v{version}");
    }
}

#[test]
fn bad_magic() {
    let mut file = Gguf::valid();
    file.magic = *b"GGUX";
    assert_malformed(refuse(&file.bytes()), "magic");
    assert_malformed(refuse(&[]), "magic");
}

#[test]
fn unsupported_versions_and_big_endian_files() {
    for (version, words) in [
        (1, "v1"),
        (4, "version 4"),
        (3u32.swap_bytes(), "big-endian"),
    ] {
        let mut file = Gguf::valid();
        file.version = version;
        assert_malformed(refuse(&file.bytes()), words);
    }
}

#[test]
fn truncated_header() {
    let tiny = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf/tiny-llama.gguf"),
    )
    .unwrap();
    for len in [6, 20, 200, 2000] {
        let err = refuse(&tiny[..len]);
        let text = err.to_string();
        let says_why =
            text.contains("past the end of the file") || text.contains("left in the file");
        assert!(
            matches!(err, MergeError::MalformedGguf { .. }) && says_why,
            "{len}: {err}"
        );
    }
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    let mut file = Gguf::valid();
    file.tensor_count = Some(1 << 60);
    assert_malformed(refuse(&file.bytes()), "tensor count");
    let mut file = Gguf::valid();
    file.kv_count = Some(u64::MAX);
    assert_malformed(refuse(&file.bytes()), "metadata key count");
    let mut array = 4u32.to_le_bytes().to_vec();
    array.extend(u64::MAX.to_le_bytes());
    let file = Gguf::valid().kv("tokenizer.ggml.scores", 9, &array);
    assert_malformed(
        refuse(&file.bytes()),
        "array length of `tokenizer.ggml.scores`",
    );
    let file = Gguf::valid().kv("general.name", 8, &(1u64 << 40).to_le_bytes());
    assert_malformed(refuse(&file.bytes()), "value of `general.name`");
}

#[test]
fn bad_metadata() {
    let file = Gguf::valid().kv("x", 42, &[]);
    assert_malformed(refuse(&file.bytes()), "`x` has unknown value type 42");
    let file = Gguf::valid()
        .kv("x", 4, &[1, 0, 0, 0])
        .kv("x", 4, &[2, 0, 0, 0]);
    assert_malformed(refuse(&file.bytes()), "`x` appears twice");
    let file = Gguf::valid().kv("general.alignment", 4, &24u32.to_le_bytes());
    assert_malformed(refuse(&file.bytes()), "general.alignment");
}

#[test]
fn tensor_out_of_bounds() {
    let file = Gguf::valid().tensor("far", &[8], F32, 1 << 20);
    assert_bad_tensor(refuse(&file.bytes()), "far", "past the end of the file");
    let file = Gguf::valid().tensor("huge", &[u64::MAX, 4], F32, 32);
    assert_bad_tensor(refuse(&file.bytes()), "huge", "too many elements");
}

#[test]
fn unknown_and_unsupported_types_are_named() {
    for (id, name) in [(999, "unknown (id 999)"), (20, "IQ4_NL (id 20)")] {
        let file = Gguf::valid().tensor("odd", &[256], id, 32);
        match refuse(&file.bytes()) {
            MergeError::UnsupportedGgufType { tensor, kind, .. } => {
                assert_eq!((tensor.as_str(), kind.as_str()), ("odd", name));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn bad_tensor_layouts() {
    let mut five = Gguf::valid();
    five.tensors[0].1 = vec![1, 1, 1, 1, 8];
    assert_malformed(refuse(&five.bytes()), "5 dimensions");
    let file = Gguf::valid().tensor("odd", &[20], Q8_0, 0);
    assert_bad_tensor(refuse(&file.bytes()), "odd", "whole Q8_0 blocks");
    let file = Gguf::valid().tensor("skew", &[1], F32, 4);
    assert_bad_tensor(refuse(&file.bytes()), "skew", "alignment");
    let file = Gguf::valid().tensor("w", &[1], F32, 0);
    assert_bad_tensor(refuse(&file.bytes()), "w", "twice");
    let mut overlapping = Gguf::valid().tensor("v", &[8], F32, 0);
    overlapping.data = vec![0; 64];
    let err = refuse(&overlapping.bytes());
    assert!(
        matches!(err, MergeError::BadTensor { ref reason, .. } if reason.contains("overlap")),
        "{err}"
    );
}

#[test]
fn names_that_collide_after_mapping_are_refused() {
    // `output.weight` maps to `lm_head.weight`, which this file also holds under its HF name.
    let mut file = Gguf::valid().tensor("lm_head.weight", &[8], F32, 32);
    file.tensors[0].0 = "output.weight".into();
    file.data = vec![0; 64];
    assert_bad_tensor(
        refuse(&file.bytes()),
        "lm_head.weight",
        "maps to `lm_head.weight`",
    );
}

#[test]
fn q_and_k_rows_must_be_whole_heads_to_unpermute() {
    let mut file = Gguf::valid()
        .kv("general.architecture", 8, &string("llama"))
        .kv("llama.attention.head_count", 4, &3u32.to_le_bytes());
    file.tensors = vec![("blk.0.attn_q.weight".into(), vec![4, 4], F32, 0)];
    file.data = vec![0; 64];
    assert_bad_tensor(refuse(&file.bytes()), "blk.0.attn_q.weight", "3 heads");
}

#[test]
fn q_and_k_cannot_be_unpermuted_without_a_head_count() {
    let mut file = Gguf::valid().kv("general.architecture", 8, &string("llama"));
    file.tensors = vec![("blk.0.attn_k.weight".into(), vec![4, 4], F32, 0)];
    file.data = vec![0; 64];
    assert_malformed(
        refuse(&file.bytes()),
        "`llama.attention.head_count` is missing",
    );
}

/// A fixed-seed xorshift, so the mutation test is the same on every run.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn mutated_headers_error_or_read_but_never_panic() {
    use mixmerge::io::gguf::GgufFile;
    use mixmerge::io::MemorySource;
    let tiny = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf/tiny-llama.gguf"),
    )
    .unwrap();
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let (mut opened, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = tiny.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(2592); // the header (metadata, tensor table) ends at 2592
            bytes[at] = rng.below(256) as u8;
        }
        if rng.below(8) == 0 {
            bytes.truncate(rng.below(bytes.len()));
        }
        let source = MemorySource::new("mutated.gguf", bytes);
        match pollster::block_on(GgufFile::open(source)) {
            Err(err) => {
                assert!(err.to_string().contains("mutated.gguf"), "{err}");
                refused += 1;
            }
            Ok(file) => {
                for tensor in file.tensors() {
                    let mut values = vec![0f32; tensor.numel()];
                    pollster::block_on(file.read_f32(&tensor.name, 0, &mut values)).unwrap();
                }
                let _ = (file.hf_config(), file.tokenizer());
                opened += 1;
            }
        }
    }
    assert!(
        opened > 0 && refused > 0,
        "opened {opened}, refused {refused}"
    );
}
