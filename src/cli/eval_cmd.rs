//! `mixmerge eval` (perplexity of a text) and `mixmerge generate`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mixmerge::eval::{generate, perplexity, GenerateOptions, Sampling, TextStream, Window};
use mixmerge::model::folder::load_model;
use mixmerge::model::{device_for, Backend, ChatMessage, LoadedModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// burn's pure-Rust CPU backend.
    Cpu,
    /// wgpu: Vulkan, Metal or DX12 (lavapipe counts when it is the only adapter).
    Gpu,
    /// burn's CUDA backend on an NVIDIA GPU (builds with the `cuda` feature).
    Cuda,
}

impl From<BackendChoice> for Backend {
    fn from(choice: BackendChoice) -> Self {
        match choice {
            BackendChoice::Cpu => Backend::Cpu,
            BackendChoice::Gpu => Backend::Gpu,
            BackendChoice::Cuda => Backend::Cuda,
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model folder (config.json, safetensors, tokenizer.json) or a `.gguf` file.
    pub model: PathBuf,
    /// Text file whose perplexity to measure.
    #[arg(long)]
    pub text: PathBuf,
    /// Most tokens per forward pass (default: 512, or the model's context if smaller).
    #[arg(long)]
    pub window: Option<usize>,
    /// Tokens between window starts (default: half the window).
    #[arg(long)]
    pub stride: Option<usize>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    /// Also print every token's log-probability (tab-separated: index, token id, log p).
    #[arg(long)]
    pub per_token: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model folder (config.json, safetensors, tokenizer.json) or a `.gguf` file.
    pub model: PathBuf,
    #[arg(long)]
    pub prompt: String,
    /// Send the prompt as a user message through the model's chat template, print the reply.
    #[arg(long)]
    pub chat: bool,
    /// New tokens at most (fewer when the model emits its end-of-sequence token).
    #[arg(short = 'n', long = "max-new-tokens", default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Seed of the sampler (used with --temperature > 0).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// 0 is greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling: keep the most probable tokens up to this total probability.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
}

pub fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let device = device_for(args.backend.into())?;
    let loaded = load_model(&args.model, &device.device)?;
    let text = std::fs::read_to_string(&args.text)
        .with_context(|| format!("reading {}", args.text.display()))?;
    let tokens = loaded.tokenizer.encode(&text, true)?;
    let window = Window::for_context(loaded.model.max_context(), args.window, args.stride);
    let report = perplexity(&loaded.model, &tokens, window)?;
    let mut out = std::io::stdout().lock();
    if args.per_token {
        for (i, lp) in report.log_probs.iter().enumerate() {
            writeln!(out, "{}\t{}\t{lp:.6}", i + 1, tokens[i + 1])?;
        }
    }
    writeln!(out, "device: {}", device.description)?;
    writeln!(
        out,
        "tokens: {} ({} scored), window {} stride {}",
        tokens.len(),
        report.log_probs.len(),
        window.size,
        window.stride
    )?;
    writeln!(out, "mean NLL: {:.6} nats/token", report.mean_nll())?;
    writeln!(out, "perplexity: {:.4}", report.perplexity())?;
    writeln!(
        out,
        "top-1 accuracy: {:.2} % of scored tokens",
        100.0 * report.top1_accuracy()
    )?;
    writeln!(
        out,
        "throughput: {:.1} tokens/s ({} tokens in {:.3} s)",
        report.tokens_per_second(),
        report.forward_tokens,
        report.seconds
    )?;
    Ok(())
}

pub fn run_generate(args: GenerateArgs) -> anyhow::Result<()> {
    let device = device_for(args.backend.into())?;
    let loaded = load_model(&args.model, &device.device)?;
    let prompt = match args.chat {
        true => chat_prompt(&loaded, &args)?,
        false => loaded.tokenizer.encode(&args.prompt, true)?,
    };
    let options = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        sampling: Sampling::from_temperature(args.temperature, args.top_p, args.seed),
        stop_tokens: loaded.stop_tokens.clone(),
    };
    let mut out = std::io::stdout().lock();
    if !args.chat {
        write!(out, "{}", args.prompt)?;
    }
    let mut stream = TextStream::new(&loaded.tokenizer);
    let mut stream_error = None;
    let mut show = |token| match stream.push(token) {
        Ok(piece) => {
            let _ = write!(out, "{piece}").and_then(|_| out.flush());
        }
        Err(e) => stream_error = Some(e),
    };
    let generation = generate(&loaded.model, &prompt, &options, &mut show)?;
    if let Some(e) = stream_error {
        return Err(e.into());
    }
    writeln!(out)?;
    out.flush()?;
    eprintln!("device: {}", device.description);
    eprintln!(
        "prompt: {} tokens, {:.1} tokens/s; generated: {} tokens, {:.1} tokens/s",
        generation.prompt_tokens,
        generation.prompt_tokens_per_second(),
        generation.tokens.len(),
        generation.generation_tokens_per_second()
    );
    Ok(())
}

/// The prompt as one user turn of the model's chat template, the assistant's turn opened.
fn chat_prompt(loaded: &LoadedModel, args: &GenerateArgs) -> anyhow::Result<Vec<u32>> {
    let template = loaded.chat_template.as_ref().with_context(|| {
        format!(
            "{} has no chat template; leave out --chat",
            args.model.display()
        )
    })?;
    let user = ChatMessage {
        role: "user".into(),
        content: args.prompt.clone(),
    };
    let text = template.render(&[user], true)?;
    // The template writes the special tokens itself.
    Ok(loaded.tokenizer.encode(&text, false)?)
}
