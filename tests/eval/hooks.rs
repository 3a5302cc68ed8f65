//! What the page relies on: async perplexity/generation stream tokens, stop when their hooks
//! say so, decode streamed text piece by piece, and give the same answers on wgpu as on the CPU.

use crate::eval_support;

use eval_support::*;
use mixmerge::error::MergeError;
use mixmerge::eval::{
    generate, generate_async, perplexity, perplexity_async, EvalHooks, GenerateOptions, Sampling,
    TextStream, Window,
};
use mixmerge::model::TextTokenizer;

/// Counts forward passes and stops before pass `stop_before` (never when `None`).
struct CountingHooks {
    passes: usize,
    stop_before: Option<usize>,
    tokens: Vec<u32>,
}

impl CountingHooks {
    fn new(stop_before: Option<usize>) -> Self {
        CountingHooks {
            passes: 0,
            stop_before,
            tokens: Vec::new(),
        }
    }
}

impl EvalHooks for CountingHooks {
    async fn before_pass(&mut self) -> mixmerge::Result<()> {
        if Some(self.passes) == self.stop_before {
            return Err(MergeError::EvaluationCancelled);
        }
        self.passes += 1;
        Ok(())
    }

    fn token(&mut self, token: u32) {
        self.tokens.push(token);
    }
}

fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_new_tokens,
        sampling: Sampling::Greedy,
        stop_tokens: vec![],
    }
}

#[test]
fn generation_runs_one_pass_per_token_and_stops_when_the_hooks_say() {
    let model = load("llama_gqa", &cpu());
    let prompt = [0u32, 7, 21, 3];
    let mut hooks = CountingHooks::new(None);
    let full =
        pollster::block_on(generate_async(&model, &prompt, &greedy(10), &mut hooks)).unwrap();
    // The prompt pass yields the first token; each later token needs one more pass.
    assert_eq!(hooks.passes, 10);
    assert_eq!(hooks.tokens, full.tokens);

    let mut stopping = CountingHooks::new(Some(4));
    let err = pollster::block_on(generate_async(&model, &prompt, &greedy(10), &mut stopping))
        .unwrap_err();
    assert!(matches!(err, MergeError::EvaluationCancelled), "{err}");
    assert_eq!(err.to_string(), "evaluation cancelled");
    assert_eq!(stopping.tokens, full.tokens[..4]);
}

#[test]
fn perplexity_stops_between_windows_when_the_hooks_say() {
    let (tokens, _) = expected("llama_gqa");
    let model = load("llama_gqa", &cpu());
    let window = Window { size: 6, stride: 4 };
    let mut hooks = CountingHooks::new(None);
    let report = pollster::block_on(perplexity_async(&model, &tokens, window, &mut hooks)).unwrap();
    assert_eq!(hooks.passes, 3, "13 tokens: windows [0,6) [4,10) [8,13)");
    assert_eq!(
        report.log_probs,
        perplexity(&model, &tokens, window).unwrap().log_probs
    );
    let mut stopping = CountingHooks::new(Some(2));
    let err = pollster::block_on(perplexity_async(&model, &tokens, window, &mut stopping));
    assert!(matches!(err, Err(MergeError::EvaluationCancelled)));
}

#[test]
fn streamed_text_pieces_add_up_to_the_decoded_continuation() {
    let tokenizer = TextTokenizer::from_file(&fixture("llama_gqa").join("tokenizer.json")).unwrap();
    let model = load("llama_gqa", &cpu());
    let prompt = tokenizer.encode("the cat", true).unwrap();
    let mut stream = TextStream::new(&tokenizer);
    let mut pieces = String::new();
    let generation = generate(&model, &prompt, &greedy(20), &mut |t| {
        pieces.push_str(&stream.push(t).unwrap());
    })
    .unwrap();
    let whole = tokenizer.decode(&generation.tokens).unwrap();
    assert!(!whole.is_empty());
    assert_eq!(pieces, whole);
}

#[test]
fn perplexity_and_generation_on_wgpu_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for name in FIXTURES {
        let (tokens, _) = expected(name);
        let (on_cpu, on_gpu) = (load(name, &cpu()), load(name, &gpu));
        let window = Window::overlapping(8);
        let want = perplexity(&on_cpu, &tokens, window).unwrap();
        let got = perplexity(&on_gpu, &tokens, window).unwrap();
        for (i, (g, w)) in got.log_probs.iter().zip(&want.log_probs).enumerate() {
            assert!(
                (g - w).abs() <= TOLERANCE * w.abs().max(1.0),
                "{name} token {i}: {g} vs {w}"
            );
        }
        let prompt = &tokens[..3];
        let options = greedy(12);
        let cpu_tokens = generate(&on_cpu, prompt, &options, &mut |_| {})
            .unwrap()
            .tokens;
        let gpu_tokens = generate(&on_gpu, prompt, &options, &mut |_| {})
            .unwrap()
            .tokens;
        assert_eq!(gpu_tokens, cpu_tokens, "{name}");
    }
}

#[test]
fn the_default_window_follows_the_model_context() {
    assert_eq!(
        Window::for_context(None, None, None),
        Window::overlapping(512)
    );
    assert_eq!(
        Window::for_context(Some(128), None, None),
        Window {
            size: 128,
            stride: 64
        }
    );
    assert_eq!(
        Window::for_context(Some(128), Some(32), Some(8)),
        Window {
            size: 32,
            stride: 8
        }
    );
    assert_eq!(Sampling::from_temperature(0.0, 0.9, 3), Sampling::Greedy);
    assert_eq!(
        Sampling::from_temperature(0.7, 0.9, 3),
        Sampling::TopP {
            temperature: 0.7,
            top_p: 0.9,
            seed: 3
        }
    );
}
