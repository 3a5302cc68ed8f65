//! Models and tokenizers from GGUF files alone. SmolLM2-135M-Instruct (byte-level BPE) against
//! tests/fixtures/smollm2/reference.json: token ids from transformers' GGUF tokenizer, log-probs
//! and a greedy continuation from a float64 numpy forward pass (make_reference.py). A tiny
//! SentencePiece vocabulary (tests/fixtures/spm) against `sentencepiece`'s own ids. The
//! SentencePiece and bad-input tests use small fixtures and always run.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::smollm2::smollm2_gguf;
use mixmerge::eval::{generate, perplexity, GenerateOptions, Sampling, Window};
use mixmerge::io::gguf::GgufTokenizer;
use mixmerge::io::open_gguf_file;
use mixmerge::model::{cpu_device, load_gguf, ChatMessage, TextTokenizer};
use mixmerge::MergeError;
use serde_json::Value;

/// Greedy tokens that must equal the reference whatever the float noise.
const GREEDY_MUST_MATCH: usize = 8;
/// A step whose top two reference logits are closer than this may flip in f32.
const NEAR_TIE: f64 = 0.01;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixture("smollm2/reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(value: &Value) -> Vec<u32> {
    serde_json::from_value(value.clone()).unwrap()
}

fn tokenizer(path: &Path) -> TextTokenizer {
    let file = open_gguf_file(path).unwrap();
    TextTokenizer::from_gguf(path.display().to_string(), &file.tokenizer().unwrap()).unwrap()
}

#[test]
fn gguf_tokenizer_matches_transformers_and_round_trips() {
    let Some(path) = smollm2_gguf() else { return };
    let tokenizer = tokenizer(&path);
    let reference = reference();
    let paragraph = std::fs::read_to_string(fixture("smollm2/paragraph.txt")).unwrap();
    let mut cases: Vec<(String, Vec<u32>)> = vec![(paragraph, ids(&reference["paragraph"]["ids"]))];
    for case in reference["tokenizer_cases"].as_array().unwrap() {
        cases.push((case["text"].as_str().unwrap().into(), ids(&case["ids"])));
    }
    for (text, want) in &cases {
        let got = tokenizer.encode(text, true).unwrap();
        assert_eq!(&got, want, "{text:?}");
        let control = ["<|im_start|>", "<|im_end|>"];
        let expected_text = control.iter().fold(text.clone(), |t, c| t.replace(c, ""));
        // Special tokens are left out of decoded text, everything else comes back byte for byte.
        assert_eq!(tokenizer.decode(&got).unwrap(), expected_text, "{text:?}");
    }
    let chat = tokenizer.encode("<|im_start|>user", true).unwrap();
    assert_eq!(chat[0], tokenizer.token_id("<|im_start|>").unwrap());
}

/// A merge of GGUF inputs writes tokenizer files transformers reads: `tokenizer.json` loaded by
/// the `tokenizers` library gives transformers' ids for the GGUF's vocabulary, and the config
/// files carry its special tokens and chat template.
#[test]
fn a_merged_gguf_folder_tokenizes_as_transformers() {
    let Some(path) = smollm2_gguf() else { return };
    let dir = tempfile::tempdir().unwrap();
    let recipe = format!(
        "merge_method: linear\nmodels:\n  - model: {}\n    parameters: {{weight: 1.0}}\ndtype: float16\n",
        path.display()
    );
    let report = common::merge(dir.path(), &recipe, &Default::default()).unwrap();
    let out = dir.path().join("out");
    for file in [
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    ] {
        assert!(
            report.files.iter().any(|f| f == file),
            "{file} in {:?}",
            report.files
        );
    }
    let merged = TextTokenizer::from_file(&out.join("tokenizer.json")).unwrap();
    let reference = reference();
    for case in reference["tokenizer_cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            merged.encode(text, true).unwrap(),
            ids(&case["ids"]),
            "{text:?}"
        );
    }
    let paragraph = std::fs::read_to_string(fixture("smollm2/paragraph.txt")).unwrap();
    assert_eq!(
        merged.encode(&paragraph, true).unwrap(),
        ids(&reference["paragraph"]["ids"])
    );

    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap()
    };
    let gguf = open_gguf_file(&path).unwrap().tokenizer().unwrap();
    let token = |id: Option<u32>| gguf.tokens[id.unwrap() as usize].clone();
    let config = read("tokenizer_config.json");
    assert_eq!(config["eos_token"], token(gguf.eos_token_id));
    assert_eq!(config["bos_token"], token(gguf.bos_token_id));
    assert_eq!(
        config["chat_template"].as_str(),
        gguf.chat_template.as_deref()
    );
    assert_eq!(config["tokenizer_class"], "PreTrainedTokenizerFast");
    let im_start = merged.token_id("<|im_start|>").unwrap();
    assert_eq!(
        config["added_tokens_decoder"][im_start.to_string()]["special"],
        true
    );
    let generation = read("generation_config.json");
    assert_eq!(generation["eos_token_id"], gguf.eos_token_id.unwrap());
    assert_eq!(generation["bos_token_id"], gguf.bos_token_id.unwrap());
}

#[test]
fn smollm2_perplexity_and_greedy_continuation_match_numpy() {
    let Some(path) = smollm2_gguf() else { return };
    let reference = reference();
    let device = cpu_device().device;
    let file = open_gguf_file(&path).unwrap();
    let loaded = pollster::block_on(load_gguf(&file, &device)).unwrap();

    let tokens = ids(&reference["paragraph"]["ids"]);
    let report = perplexity(&loaded.model, &tokens, Window::overlapping(512)).unwrap();
    let want: Vec<f64> =
        serde_json::from_value(reference["paragraph"]["log_probs"].clone()).unwrap();
    assert_eq!(report.log_probs.len(), want.len());
    let worst = report
        .log_probs
        .iter()
        .zip(&want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .fold(0.0, f64::max);
    let want_ppl = reference["paragraph"]["perplexity"].as_f64().unwrap();
    let ratio = report.perplexity() / want_ppl;
    eprintln!(
        "perplexity {:.4} (numpy {want_ppl:.4}); worst log-prob gap {worst:.5}",
        report.perplexity()
    );
    assert!(
        (ratio - 1.0).abs() < 0.01,
        "perplexity {} vs {want_ppl}",
        report.perplexity()
    );
    assert!(
        worst < 0.02,
        "a token's log-prob is {worst} off the reference"
    );

    let prompt = loaded
        .tokenizer
        .encode(reference["greedy"]["prompt"].as_str().unwrap(), true)
        .unwrap();
    assert_eq!(prompt, ids(&reference["greedy"]["prompt_ids"]));
    let want = ids(&reference["greedy"]["new_ids"]);
    let options = GenerateOptions {
        max_new_tokens: want.len(),
        sampling: Sampling::Greedy,
        stop_tokens: loaded.stop_tokens.clone(),
    };
    let got = generate(&loaded.model, &prompt, &options, &mut |_| {})
        .unwrap()
        .tokens;
    let margins: Vec<f64> =
        serde_json::from_value(reference["greedy"]["top2_logit_margins"].clone()).unwrap();
    let first_tie = margins
        .iter()
        .position(|&m| m < NEAR_TIE)
        .unwrap_or(margins.len());
    let must_match = first_tie.max(GREEDY_MUST_MATCH).min(want.len());
    assert_eq!(got[..must_match], want[..must_match], "greedy tokens");
    let text = loaded.tokenizer.decode(&got[..must_match]).unwrap();
    let reference_text = loaded.tokenizer.decode(&want).unwrap();
    assert_eq!(
        reference_text,
        reference["greedy"]["text"].as_str().unwrap()
    );
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(
        words.len() >= 5
            && text
                .chars()
                .all(|c| c.is_ascii_alphabetic() || " .,'".contains(c)),
        "not plain English: {text:?}"
    );

    // The chat template renders as transformers renders it, and the reply is numpy's.
    let chat = &reference["chat"];
    let messages: Vec<ChatMessage> = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| ChatMessage {
            role: m["role"].as_str().unwrap().into(),
            content: m["content"].as_str().unwrap().into(),
        })
        .collect();
    let template = loaded
        .chat_template
        .as_ref()
        .expect("SmolLM2 has a chat template");
    let text = template.render(&messages, true).unwrap();
    assert_eq!(text, chat["text"].as_str().unwrap());
    let prompt = loaded.tokenizer.encode(&text, false).unwrap();
    assert_eq!(prompt, ids(&chat["ids"]));
    let want = ids(&chat["new_ids"]);
    let options = GenerateOptions {
        max_new_tokens: want.len() + 8,
        ..options
    };
    let reply = generate(&loaded.model, &prompt, &options, &mut |_| {})
        .unwrap()
        .tokens;
    assert_eq!(reply, want, "the reply ends at <|im_end|>, a stop token");
}

#[test]
fn cli_evaluates_and_generates_from_a_gguf_path() {
    let Some(path) = smollm2_gguf() else { return };
    let reference = reference();
    let mixmerge = env!("CARGO_BIN_EXE_mixmerge");
    let paragraph = fixture("smollm2/paragraph.txt");
    let out = Command::new(mixmerge)
        .args([
            "eval".as_ref(),
            path.as_os_str(),
            "--text".as_ref(),
            paragraph.as_os_str(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ppl: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("perplexity: "))
        .unwrap()
        .parse()
        .unwrap();
    let want = reference["paragraph"]["perplexity"].as_f64().unwrap();
    assert!((ppl / want - 1.0).abs() < 0.01, "{ppl} vs {want}");

    let prompt = reference["greedy"]["prompt"].as_str().unwrap();
    let out = Command::new(mixmerge)
        .args([
            "generate".as_ref(),
            path.as_os_str(),
            "--prompt".as_ref(),
            prompt.as_ref(),
        ])
        .args(["-n", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with(&format!("{prompt} girl")), "{stdout}");

    let chat = &reference["chat"];
    let question = chat["messages"][0]["content"].as_str().unwrap();
    let out = Command::new(mixmerge)
        .args(["generate".as_ref(), path.as_os_str(), "--chat".as_ref()])
        .args(["--prompt", question])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = String::from_utf8_lossy(&out.stdout);
    assert_eq!(reply.trim_end(), chat["reply"].as_str().unwrap());
}

#[test]
fn sentencepiece_gguf_tokenizer_matches_sentencepiece() {
    let path = fixture("spm/tiny-spm.gguf");
    let tokenizer = tokenizer(&path);
    let text = std::fs::read_to_string(fixture("spm/spm-reference.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let bos = reference["bos_token_id"].as_u64().unwrap() as u32;
    let cases = reference["cases"].as_array().unwrap();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let mut want = vec![bos];
        want.extend(ids(&case["ids"]));
        // The file sets add_bos_token.
        let got = tokenizer.encode(text, true).unwrap();
        assert_eq!(got, want, "{text:?}");
        assert_eq!(
            tokenizer.encode(text, false).unwrap(),
            want[1..],
            "{text:?}"
        );
        assert_eq!(tokenizer.decode(&got).unwrap(), text, "{text:?}");
    }
    assert!(
        cases
            .iter()
            .any(|c| c["text"].as_str().unwrap().contains('🙂')),
        "a case needs byte fallback"
    );
}

#[test]
fn a_gguf_without_tokenizer_metadata_is_refused_naming_the_file() {
    let path = fixture("gguf/quants.gguf");
    let file = open_gguf_file(&path).unwrap();
    let error = pollster::block_on(load_gguf(&file, &cpu_device().device))
        .err()
        .expect("no tokenizer, no model");
    let message = error.to_string();
    assert!(
        matches!(error, MergeError::MalformedGguf { .. }),
        "{message}"
    );
    assert!(
        message.contains("quants.gguf") && message.contains("tokenizer.ggml.model"),
        "{message}"
    );
}

#[test]
fn unknown_tokenizer_models_and_pre_tokenizers_are_refused_naming_the_file() {
    let file = open_gguf_file(&fixture("gguf/tiny-llama.gguf")).unwrap();
    let good = file.tokenizer().unwrap();
    let cases = [
        (
            GgufTokenizer {
                model: "rwkv".into(),
                ..good.clone()
            },
            "`rwkv`",
        ),
        (
            GgufTokenizer {
                pre: Some("klingon".into()),
                ..good.clone()
            },
            "`klingon`",
        ),
    ];
    for (tokenizer, named) in cases {
        let error = TextTokenizer::from_gguf("tiny-llama.gguf", &tokenizer)
            .err()
            .unwrap();
        let message = error.to_string();
        assert!(matches!(error, MergeError::Unsupported(_)), "{message}");
        assert!(
            message.contains("tiny-llama.gguf") && message.contains(named),
            "{message}"
        );
    }
    let no_scores = GgufTokenizer {
        model: "llama".into(),
        scores: None,
        ..good.clone()
    };
    let message = TextTokenizer::from_gguf("tiny-llama.gguf", &no_scores)
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("tiny-llama.gguf") && message.contains("scores"),
        "{message}"
    );
    let broken = GgufTokenizer {
        merges: vec!["t1".into()],
        ..good
    };
    let message = TextTokenizer::from_gguf("tiny-llama.gguf", &broken)
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("tiny-llama.gguf") && message.contains("`t1`"),
        "{message}"
    );
}
