//! GGUF input: dequantisation against gguf-py, the HF view (names, shapes, Q/K order), config
//! and tokenizer, GGUF as a merge input, and malformed files. Fixtures and the script that
//! makes them: tests/fixtures/gguf/.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{merge, read_all};
use mixmerge::dtype::DType;
use mixmerge::error::MergeError;
use mixmerge::io::gguf::GgufFile;
use mixmerge::io::{open_checkpoint, open_gguf_file, FileSource, TensorSource};
use mixmerge::native::MergeOptions;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gguf")
        .join(name)
}

/// Tensors of a safetensors fixture as (shape, f32 values).
fn expected(name: &str) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

fn read_f32(file: &GgufFile<FileSource>, name: &str, first: usize, count: usize) -> Vec<f32> {
    let mut out = vec![0f32; count];
    pollster::block_on(file.read_f32(name, first, &mut out)).unwrap();
    out
}

fn assert_bits_eq(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{what}[{i}]: {g} != {w}");
    }
}

#[test]
fn every_supported_type_dequantises_bit_for_bit_like_gguf_py() {
    let file = open_gguf_file(&fixture("quants.gguf")).unwrap();
    let expected = expected("quants.expected.safetensors");
    assert_eq!(file.tensors().len(), expected.len());
    for (name, (shape, values)) in &expected {
        let tensor = file
            .tensor(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(&tensor.shape, shape, "{name}");
        assert_eq!(
            tensor.kind.name().to_lowercase(),
            name.trim_start_matches("cube_")
        );
        assert_bits_eq(&read_f32(&file, name, 0, values.len()), values, name);
    }
}

#[test]
fn reads_starting_and_ending_mid_block_match_whole_reads() {
    let file = open_gguf_file(&fixture("quants.gguf")).unwrap();
    let expected = expected("quants.expected.safetensors");
    for (name, (_, values)) in &expected {
        for (first, count) in [(1, 5), (31, 2), (250, 300), (513, 511), (0, 1), (383, 1)] {
            if first >= values.len() {
                continue;
            }
            let count = count.min(values.len() - first);
            let got = read_f32(&file, name, first, count);
            assert_bits_eq(
                &got,
                &values[first..first + count],
                &format!("{name}[{first}..]"),
            );
        }
    }
}

#[test]
fn tiny_llama_reads_back_under_hf_names_shapes_and_row_order() {
    let file = open_gguf_file(&fixture("tiny-llama.gguf")).unwrap();
    let expected = expected("tiny-llama.expected.safetensors");
    let names: Vec<&str> = file.tensors().iter().map(|t| t.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        expected.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (name, (shape, values)) in &expected {
        let tensor = file.tensor(name).unwrap();
        assert_eq!(&tensor.shape, shape, "{name}");
        assert_bits_eq(&read_f32(&file, name, 0, values.len()), values, name);
    }
    let q = file
        .tensor("model.layers.0.self_attn.q_proj.weight")
        .unwrap();
    assert_eq!(q.gguf_name, "blk.0.attn_q.weight");
    assert!(q.permutation.is_some());
    assert!(file
        .tensor("model.layers.0.self_attn.v_proj.weight")
        .unwrap()
        .permutation
        .is_none());
}

#[test]
fn permuted_tensors_read_in_chunks_that_cross_rows_and_heads() {
    let file = open_gguf_file(&fixture("tiny-llama.gguf")).unwrap();
    let expected = expected("tiny-llama.expected.safetensors");
    for name in [
        "model.layers.0.self_attn.q_proj.weight", // F32
        "model.layers.0.self_attn.k_proj.weight", // F16
        "model.layers.0.self_attn.q_proj.bias",   // F32, one value per row
        "model.layers.1.self_attn.q_proj.weight", // Q8_0
        "model.layers.1.self_attn.k_proj.weight", // Q4_0
    ] {
        let values = &expected[name].1;
        let mut first = 0;
        for step in [7, 64, 100, 1000, 3].iter().cycle() {
            if first >= values.len() {
                break;
            }
            let count = (*step).min(values.len() - first);
            let got = read_f32(&file, name, first, count);
            assert_bits_eq(
                &got,
                &values[first..first + count],
                &format!("{name}[{first}..]"),
            );
            first += count;
        }
    }
}

#[test]
fn checkpoint_view_presents_floats_as_stored_and_quants_as_f32() {
    let checkpoint = open_checkpoint(&fixture("quants.gguf")).unwrap();
    let expected = expected("quants.expected.safetensors");
    let all = read_all(&fixture("quants.gguf"));
    assert_eq!(all.len(), expected.len());
    for (name, (dtype, shape, bytes)) in &all {
        let want = match name.as_str() {
            "f16" => DType::F16,
            "bf16" => DType::BF16,
            _ => DType::F32,
        };
        assert_eq!(*dtype, want, "{name}");
        assert_eq!(shape, &expected[name].0);
        let mut values = vec![0f32; bytes.len() / dtype.size()];
        dtype.decode(bytes, &mut values);
        assert_bits_eq(&values, &expected[name].1, name);
    }
    assert_eq!(checkpoint.metadata["format"], "gguf");
    // Raw ranges of the view that start and end inside elements still read the same bytes.
    let source = &checkpoint.shards[0];
    let mut whole = vec![0u8; source.size() as usize];
    pollster::block_on(source.read_range(0, &mut whole)).unwrap();
    for (offset, len) in [(3, 10), (1001, 4097), (source.size() - 5, 5)] {
        let mut part = vec![0u8; len as usize];
        pollster::block_on(source.read_range(offset, &mut part)).unwrap();
        assert_eq!(part, whole[offset as usize..(offset + len) as usize]);
    }
}

#[test]
fn hf_config_and_tokenizer_come_from_the_metadata() {
    let file = open_gguf_file(&fixture("tiny-llama.gguf")).unwrap();
    let config = file.hf_config().unwrap();
    assert_eq!(config.architecture, "llama");
    assert_eq!(
        (
            config.hidden_size,
            config.intermediate_size,
            config.num_hidden_layers
        ),
        (64, 64, 2)
    );
    assert_eq!(
        (config.num_attention_heads, config.num_key_value_heads),
        (4, 2)
    );
    assert_eq!((config.head_dim, config.vocab_size), (16, 32));
    assert_eq!(config.rope_theta, 100000.0);
    assert_eq!(config.rms_norm_eps, 1e-5, "stored as f32, read as written");
    assert!(config.tie_word_embeddings, "no output.weight: tied");
    let json = config.to_config_json().unwrap();
    assert_eq!(json["architectures"][0], "LlamaForCausalLM");
    assert_eq!(json["max_position_embeddings"], 256);
    assert_eq!(json["eos_token_id"], 2);

    let tokenizer = file.tokenizer().unwrap();
    assert_eq!(tokenizer.model, "gpt2");
    assert_eq!(tokenizer.pre.as_deref(), Some("smollm"));
    assert_eq!(tokenizer.tokens.len(), 32);
    assert_eq!(tokenizer.tokens[1], "<|im_start|>");
    assert_eq!(tokenizer.token_types.as_ref().unwrap()[..4], [3, 3, 3, 1]);
    assert_eq!(tokenizer.merges, ["t 1", "t 2", "t1 0"]);
    assert_eq!(
        (tokenizer.bos_token_id, tokenizer.eos_token_id),
        (Some(1), Some(2))
    );
    assert!(tokenizer.chat_template.unwrap().contains("messages"));
}

#[test]
fn a_gguf_merges_like_a_safetensors_model_and_gets_a_config_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::copy(fixture("tiny-llama.gguf"), dir.path().join("a/tiny.gguf")).unwrap();
    std::fs::copy(fixture("tiny-llama.gguf"), dir.path().join("b.gguf")).unwrap();
    let config = "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1.0}\n  - model: b.gguf\n    parameters: {weight: 1.0}\n";
    merge(dir.path(), config, &MergeOptions::default()).unwrap();
    let out = read_all(&dir.path().join("out"));
    let expected = expected("tiny-llama.expected.safetensors");
    assert_eq!(out.len(), expected.len());
    for (name, (shape, values)) in &expected {
        let (dtype, got_shape, bytes) = &out[name];
        assert_eq!((*dtype, got_shape), (DType::F32, shape), "{name}");
        let mut got = vec![0f32; values.len()];
        dtype.decode(bytes, &mut got);
        // The mean of a model with itself is the model (a sum from +0 turns −0 into +0).
        assert_eq!(&got, values, "{name}");
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["num_key_value_heads"], 2);
    assert_eq!(config["tie_word_embeddings"], true);
}

#[test]
fn a_gguf_and_its_safetensors_twin_merge_name_by_name() {
    // The expected values, saved as a HF safetensors file, are the GGUF's HF twin: a merge
    // pairs every tensor by name and shape, and the mean of equal tensors is that tensor.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("tiny-llama.gguf"), dir.path().join("q.gguf")).unwrap();
    let twin = dir.path().join("hf.safetensors");
    std::fs::copy(fixture("tiny-llama.expected.safetensors"), &twin).unwrap();
    let config = "merge_method: linear\nmodels:\n  - model: q.gguf\n    parameters: {weight: 1.0}\n  - model: hf.safetensors\n    parameters: {weight: 1.0}\n";
    merge(dir.path(), config, &MergeOptions::default()).unwrap();
    let out = read_all(&dir.path().join("out"));
    let twin = read_all(&twin);
    assert_eq!(
        out.keys().collect::<Vec<_>>(),
        twin.keys().collect::<Vec<_>>()
    );
    for (name, (dtype, shape, bytes)) in &twin {
        let (_, out_shape, out_bytes) = &out[name];
        assert_eq!(out_shape, shape, "{name}");
        let (mut want, mut got) = (vec![0f32; bytes.len() / 4], vec![0f32; bytes.len() / 4]);
        dtype.decode(bytes, &mut want);
        DType::F32.decode(out_bytes, &mut got);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_folder_with_two_ggufs_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("quants.gguf"), dir.path().join("x.Q4_0.gguf")).unwrap();
    std::fs::copy(fixture("quants.gguf"), dir.path().join("x.Q8_0.gguf")).unwrap();
    let err = open_checkpoint(dir.path()).unwrap_err();
    assert!(matches!(err, MergeError::ModelNotFound { .. }), "{err}");
    assert!(err.to_string().contains("x.Q8_0.gguf"), "{err}");
}

#[test]
fn inspect_lists_hf_names_shapes_and_gguf_types() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mixmerge"))
        .args(["inspect", "--all"])
        .arg(fixture("tiny-llama.gguf"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("GGUF v3, architecture llama"), "{text}");
    assert!(
        text.contains("model.layers.1.self_attn.k_proj.weight  F32  [32, 64]  GGUF Q4_0 `blk.1.attn_k.weight`"),
        "{text}"
    );
    assert!(
        text.contains("model.embed_tokens.weight  F32  [32, 64]  GGUF Q8_0"),
        "{text}"
    );
}
