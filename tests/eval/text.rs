//! Perplexity, generation and the `eval` / `generate` commands on the tiny fixtures.

use crate::eval_support;

use std::process::Command;

use eval_support::*;
use mixmerge::eval::sampling::log_prob;
use mixmerge::eval::{generate, perplexity, GenerateOptions, Sampling, Window};
use mixmerge::model::folder::load_model;
use mixmerge::model::{ChatMessage, TextTokenizer, TokenizerConfig};

fn reference_log_probs(name: &str) -> (Vec<u32>, Vec<f32>) {
    let (tokens, logits) = expected(name);
    let lps = (1..tokens.len())
        .map(|i| log_prob(&logits[i - 1], tokens[i]))
        .collect();
    (tokens, lps)
}

#[test]
fn one_window_scores_every_token_like_the_reference() {
    for name in FIXTURES {
        let (tokens, want) = reference_log_probs(name);
        let model = load(name, &cpu());
        let report = perplexity(
            &model,
            &tokens,
            Window::overlapping(64.min(tokens.len() + 1)),
        )
        .unwrap();
        assert_eq!(report.log_probs.len(), tokens.len() - 1);
        assert_eq!(report.forward_tokens, tokens.len());
        for (i, (g, w)) in report.log_probs.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= TOLERANCE * w.abs().max(1.0),
                "{name} token {i}: {g} vs {w}"
            );
        }
        let mean_nll = -want.iter().map(|&l| l as f64).sum::<f64>() / want.len() as f64;
        assert!((report.perplexity() / mean_nll.exp() - 1.0).abs() < 1e-4);
        assert_eq!(report.top1_hits, reference_top1_hits(name), "{name}");
    }
}

/// Tokens the reference logits rank first (the fixtures have no near-ties at the top).
fn reference_top1_hits(name: &str) -> usize {
    let (tokens, logits) = expected(name);
    (1..tokens.len())
        .filter(|&i| {
            let row = &logits[i - 1];
            row.iter().all(|&l| l <= row[tokens[i] as usize])
        })
        .count()
}

#[test]
fn sliding_windows_score_each_token_once_with_bounded_context() {
    let (tokens, full) = reference_log_probs("llama_gqa");
    let model = load("llama_gqa", &cpu());
    let window = Window { size: 6, stride: 4 };
    let report = perplexity(&model, &tokens, window).unwrap();
    assert_eq!(report.log_probs.len(), tokens.len() - 1);
    // 13 tokens: windows [0,6) [4,10) [8,13) run 6 + 6 + 5 tokens.
    assert_eq!(report.forward_tokens, 17);
    // Inside the first window the context is the full prefix, so scores equal the reference.
    for (got, want) in report.log_probs[..5].iter().zip(&full) {
        assert!((got - want).abs() <= TOLERANCE * want.abs().max(1.0));
    }
    // Later tokens see a truncated context: the same as scoring that window on its own.
    let tail = perplexity(&model, &tokens[4..10], Window::overlapping(6)).unwrap();
    assert_eq!(&report.log_probs[5..9], &tail.log_probs[1..5]);
    assert!(perplexity(&model, &tokens, Window { size: 6, stride: 6 }).is_err());
    assert!(perplexity(&model, &tokens[..1], window).is_err());
}

#[test]
fn greedy_generation_follows_the_argmax_of_a_full_pass() {
    for name in FIXTURES {
        let model = load(name, &cpu());
        let prompt = [0u32, 7, 21, 3];
        let options = GenerateOptions {
            max_new_tokens: 12,
            sampling: Sampling::Greedy,
            stop_tokens: vec![],
        };
        let generation = generate(&model, &prompt, &options, &mut |_| {}).unwrap();
        assert_eq!(generation.tokens.len(), 12);
        // Re-run prompt + output without the cache: each new token is the argmax before it.
        let all: Vec<u32> = prompt.iter().chain(&generation.tokens).copied().collect();
        let rows = to_rows(model.forward(&all, &mut model.new_cache()).unwrap());
        for (k, token) in generation.tokens.iter().enumerate() {
            let row = &rows[prompt.len() - 1 + k];
            assert_eq!(
                *token,
                mixmerge::eval::sampling::argmax(row),
                "{name} step {k}"
            );
            assert!((generation.log_probs[k] - log_prob(row, *token)).abs() < 1e-4);
        }
        assert!(generation.prompt_tokens_per_second() > 0.0);
        assert!(generation.generation_tokens_per_second() > 0.0);
    }
}

#[test]
fn seeded_sampling_is_reproducible_and_stops_at_eos() {
    let model = load("smollm_tied", &cpu());
    let run = |seed, stop: Vec<u32>| {
        let sampling = Sampling::TopP {
            temperature: 1.0,
            top_p: 0.9,
            seed,
        };
        let options = GenerateOptions {
            max_new_tokens: 24,
            sampling,
            stop_tokens: stop,
        };
        let mut streamed = Vec::new();
        let generation =
            generate(&model, &[0, 9, 40], &options, &mut |t| streamed.push(t)).unwrap();
        assert_eq!(streamed, generation.tokens);
        generation.tokens
    };
    let first = run(11, vec![]);
    assert_eq!(first, run(11, vec![]));
    assert_ne!(first, run(12, vec![]));
    let stop = first[5];
    let stopped = run(11, vec![stop]);
    let at = first.iter().position(|&t| t == stop).unwrap();
    assert_eq!(stopped, first[..=at]);
}

#[test]
fn generation_beyond_gpt2_positions_is_refused() {
    let model = load("gpt2", &cpu());
    let options = GenerateOptions {
        max_new_tokens: 40,
        sampling: Sampling::Greedy,
        stop_tokens: vec![],
    };
    let err = generate(&model, &[0, 1], &options, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("context of 32"), "{err}");
    let err = perplexity(&model, &[0, 99], Window::overlapping(4)).unwrap_err();
    assert!(err.to_string().contains("vocabulary"), "{err}");
}

#[test]
fn tokenizer_json_round_trips_and_adds_bos() {
    let tokenizer = TextTokenizer::from_file(&fixture("llama_gqa").join("tokenizer.json")).unwrap();
    assert_eq!(tokenizer.vocab_size(), 64);
    let ids = tokenizer.encode("the cat sat", true).unwrap();
    assert_eq!(ids[0], 0, "BOS first: {ids:?}");
    assert!(ids.len() < 1 + "the cat sat".len(), "merges apply: {ids:?}");
    assert_eq!(tokenizer.decode(&ids).unwrap(), "the cat sat");
    let err = TextTokenizer::from_bytes("broken/tokenizer.json", b"{\"model\": 3}")
        .err()
        .unwrap();
    assert!(err.to_string().contains("broken/tokenizer.json"), "{err}");
}

fn mixmerge(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mixmerge"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "mixmerge {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn cli_eval_and_generate_run_on_a_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(&text, "the cat sat on the mat. the dog ran to the cat!").unwrap();
    let model = fixture("llama_gqa");
    let (model, text) = (model.to_str().unwrap(), text.to_str().unwrap());
    let (out, _) = mixmerge(&["eval", model, "--text", text, "--window", "8"]);
    let ppl: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("perplexity: "))
        .unwrap()
        .parse()
        .unwrap();
    // A random 64-token model is near-uniform: perplexity well above 1, below ~vocab × e.
    assert!(ppl > 2.0 && ppl < 200.0, "{out}");
    let tokenizer = TextTokenizer::from_file(&fixture("llama_gqa").join("tokenizer.json")).unwrap();
    let ids = tokenizer
        .encode(&std::fs::read_to_string(text).unwrap(), true)
        .unwrap();
    let report = perplexity(&load("llama_gqa", &cpu()), &ids, Window::overlapping(8)).unwrap();
    assert!((report.perplexity() / ppl - 1.0).abs() < 1e-3, "{out}");

    let (out, err) = mixmerge(&[
        "generate",
        model,
        "--prompt",
        "the cat",
        "-n",
        "10",
        "--temperature",
        "0.8",
        "--seed",
        "3",
    ]);
    assert!(
        out.starts_with("the cat") && out.trim_end().len() > "the cat".len(),
        "{out}"
    );
    assert!(err.contains("tokens/s"), "{err}");
    let (again, _) = mixmerge(&[
        "generate",
        model,
        "--prompt",
        "the cat",
        "-n",
        "10",
        "--temperature",
        "0.8",
        "--seed",
        "3",
    ]);
    assert_eq!(out, again);
}

/// The llama_gqa fixture with tests/fixtures/eval/chat's `tokenizer_config.json` beside it.
fn chat_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (from, file) in [
        ("llama_gqa", "config.json"),
        ("llama_gqa", "model.safetensors"),
        ("llama_gqa", "tokenizer.json"),
        ("chat", "tokenizer_config.json"),
    ] {
        std::fs::copy(fixture(from).join(file), dir.path().join(file)).unwrap();
    }
    dir
}

#[test]
fn folder_models_chat_through_their_tokenizer_config() {
    let dir = chat_folder();
    let loaded = load_model(dir.path(), &cpu()).unwrap();
    let user = ChatMessage {
        role: "user".into(),
        content: "the cat".into(),
    };
    let template = loaded.chat_template.as_ref().expect("a chat template");
    let text = template.render(&[user], true).unwrap();
    assert_eq!(text, "<s>user. the cat</s>assistant. ");
    let prompt = loaded.tokenizer.encode(&text, false).unwrap();
    assert_eq!((prompt[0], prompt.contains(&1)), (0, true), "{prompt:?}");
    let options = GenerateOptions {
        max_new_tokens: 8,
        sampling: Sampling::Greedy,
        stop_tokens: loaded.stop_tokens.clone(),
    };
    let reply = generate(&loaded.model, &prompt, &options, &mut |_| {}).unwrap();
    let path = dir.path().to_str().unwrap();
    let (out, _) = mixmerge(&["generate", path, "--chat", "--prompt", "the cat", "-n", "8"]);
    assert_eq!(
        out.strip_suffix('\n').unwrap(),
        loaded.tokenizer.decode(&reply.tokens).unwrap()
    );

    let plain = fixture("llama_gqa");
    let refused = Command::new(env!("CARGO_BIN_EXE_mixmerge"))
        .args([
            "generate",
            plain.to_str().unwrap(),
            "--chat",
            "--prompt",
            "hi",
        ])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && message.contains("has no chat template"),
        "{message}"
    );
}

#[test]
fn a_chat_models_eos_text_also_stops_generation() {
    let tokenizer = TextTokenizer::from_file(&fixture("llama_gqa").join("tokenizer.json")).unwrap();
    let config = TokenizerConfig::parse("t.json", br#"{"eos_token": "<unk>"}"#, None).unwrap();
    let mut stops = vec![1];
    config.add_stop_token(&mut stops, &tokenizer);
    config.add_stop_token(&mut stops, &tokenizer);
    assert_eq!(stops, [1, 2]);
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_says_how_to_get_it() {
    let model = fixture("llama_gqa");
    let out = Command::new(env!("CARGO_BIN_EXE_mixmerge"))
        .args(["generate", model.to_str().unwrap(), "--prompt", "hi"])
        .args(["--backend", "cuda"])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && message.contains("rebuild with --features eval,cuda"),
        "{message}"
    );
}
