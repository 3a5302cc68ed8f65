//! Evaluating a model in the browser (the `mixmerge_eval` bundle, built with `eval,gpu`, loaded
//! only by the inference worker): `loadModel`, `perplexity`, `generate`. One model is loaded at
//! a time; each call streams and can be stopped through its `control` object (`hooks.rs`).

mod device;
mod hooks;
mod load;
mod search;
mod sweep;

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use self::device::DeviceUsed;
use self::hooks::JsControl;
use self::load::ModelInfo;
use super::{to_js, to_js_error, DeviceChoice, ModelFolder};
use crate::error::MergeError;
use crate::eval::{
    generate_async, perplexity_async, GenerateOptions, Sampling, TextStream, Window,
};
use crate::model::LoadedModel;

struct Current {
    loaded: LoadedModel,
    info: ModelInfo,
    device: DeviceUsed,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Current>>> = const { RefCell::new(None) };
}

fn current() -> Result<Rc<Current>, JsValue> {
    CURRENT
        .with_borrow(Clone::clone)
        .ok_or_else(|| to_js_error(MergeError::Unsupported("load a model first".into())))
}

fn parse<T: for<'de> Deserialize<'de> + Default>(value: JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| to_js_error(MergeError::config(what, e.to_string())))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LoadOptions {
    /// `auto` (WebGPU when usable, else the CPU) or `cpu`.
    device: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadReport<'a> {
    model: &'a ModelInfo,
    device: &'a DeviceUsed,
    seconds: f64,
}

/// Loads `model` (`{name, files}`, as `inspect` takes it) for evaluation, replacing the model
/// loaded before. Returns `{model, device, seconds}`; `device.fallback` says why WebGPU was not
/// used when it was wanted.
#[wasm_bindgen(js_name = loadModel)]
pub async fn load_model(model: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let options: LoadOptions = parse(options, "options")?;
    let choice = DeviceChoice::parse(options.device.as_deref()).map_err(to_js_error)?;
    let folder = ModelFolder::from_js(&model).map_err(to_js_error)?;
    let start = crate::eval::clock::seconds();
    let (device, used) = device::choose(choice).await;
    let (loaded, info) = load::load(&folder, &device).await.map_err(to_js_error)?;
    let current = Rc::new(Current {
        loaded,
        info,
        device: used,
    });
    CURRENT.with_borrow_mut(|slot| *slot = Some(current.clone()));
    to_js(&LoadReport {
        model: &current.info,
        device: &current.device,
        seconds: crate::eval::clock::seconds() - start,
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PerplexityOptions {
    window: Option<usize>,
    stride: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PerplexityJs<'a> {
    perplexity: f64,
    mean_nll: f64,
    tokens: usize,
    /// `log p(token | earlier tokens)` of every token after the first, for plots.
    log_probs: &'a [f32],
    token_ids: &'a [u32],
    window: usize,
    stride: usize,
    tokens_per_second: f64,
    seconds: f64,
    device: &'a DeviceUsed,
}

/// Perplexity of `text` under the loaded model (BOS added as the tokenizer's template says),
/// with per-token log-probs. Stops with an `EvaluationCancelled` error once `control.cancelled` is true.
#[wasm_bindgen]
pub async fn perplexity(
    text: String,
    options: JsValue,
    control: JsValue,
) -> Result<JsValue, JsValue> {
    let options: PerplexityOptions = parse(options, "options")?;
    let current = current()?;
    let loaded = &current.loaded;
    let tokens = loaded.tokenizer.encode(&text, true).map_err(to_js_error)?;
    let window = Window::for_context(loaded.model.max_context(), options.window, options.stride);
    let mut hooks = JsControl::new(control, None);
    let report = perplexity_async(&loaded.model, &tokens, window, &mut hooks)
        .await
        .map_err(to_js_error)?;
    to_js(&PerplexityJs {
        perplexity: report.perplexity(),
        mean_nll: report.mean_nll(),
        tokens: tokens.len(),
        log_probs: &report.log_probs,
        token_ids: &tokens,
        window: window.size,
        stride: window.stride,
        tokens_per_second: report.tokens_per_second(),
        seconds: report.seconds,
        device: &current.device,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct GenerateOptionsJs {
    max_new_tokens: usize,
    /// 0: greedy decoding.
    temperature: f32,
    top_p: f32,
    seed: u64,
}

impl Default for GenerateOptionsJs {
    /// The CLI's defaults.
    fn default() -> Self {
        GenerateOptionsJs {
            max_new_tokens: 64,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationJs<'a> {
    text: String,
    tokens: &'a [u32],
    /// Why generation ended: `eos` (a stop token) or `length`.
    stopped_by: &'static str,
    prompt_tokens: usize,
    prompt_tokens_per_second: f64,
    generation_tokens_per_second: f64,
    prompt_seconds: f64,
    generation_seconds: f64,
    device: &'a DeviceUsed,
}

/// Continues `prompt` with the loaded model, calling `control.onToken({token, text})` for each
/// new token; stops with an `EvaluationCancelled` error once `control.cancelled` is true.
#[wasm_bindgen]
pub async fn generate(
    prompt: String,
    options: JsValue,
    control: JsValue,
) -> Result<JsValue, JsValue> {
    let options: GenerateOptionsJs = parse(options, "options")?;
    let current = current()?;
    let loaded = &current.loaded;
    let prompt_ids = loaded
        .tokenizer
        .encode(&prompt, true)
        .map_err(to_js_error)?;
    let run = GenerateOptions {
        max_new_tokens: options.max_new_tokens,
        sampling: Sampling::from_temperature(options.temperature, options.top_p, options.seed),
        stop_tokens: loaded.stop_tokens.clone(),
    };
    let mut hooks = JsControl::new(control, Some(TextStream::new(&loaded.tokenizer)));
    let generation = generate_async(&loaded.model, &prompt_ids, &run, &mut hooks)
        .await
        .map_err(to_js_error)?;
    if let Some(error) = hooks.error.take() {
        return Err(to_js_error(error));
    }
    let ended_on_stop = generation
        .tokens
        .last()
        .is_some_and(|t| run.stop_tokens.contains(t));
    to_js(&GenerationJs {
        text: hooks.text().map_err(to_js_error)?,
        tokens: &generation.tokens,
        stopped_by: if ended_on_stop { "eos" } else { "length" },
        prompt_tokens: generation.prompt_tokens,
        prompt_tokens_per_second: generation.prompt_tokens_per_second(),
        generation_tokens_per_second: generation.generation_tokens_per_second(),
        prompt_seconds: generation.prompt_seconds,
        generation_seconds: generation.generation_seconds,
        device: &current.device,
    })
}
