//! The browser surface, thin: `methods`, `inspect`, `validate`, `merge`, `anatomy`. Everything runs in a
//! module Web Worker (`www/worker.js`); the page only draws. Errors arrive as JS `Error`s whose
//! `name` is the error kind (`MalformedHeader`, `Mismatch`, `Config`, …) and whose message is the
//! same text the CLI prints.

mod anatomy;
mod blob_source;
mod executor;
mod fetch_transport;
#[cfg(feature = "gpu")]
mod gpu;
mod hub_folder;
#[cfg(feature = "eval")]
mod inference;
mod js_sink;
mod model_folder;
mod page_file;
mod session;

use js_sys::{Array, Function, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

pub use blob_source::BlobSource;
pub use executor::{run, DeviceChoice, DeviceReport};
pub use hub_folder::{resolve_model, Listing, PageHub};
pub use js_sink::JsSink;
pub use model_folder::{ModelFolder, ModelSummary};
pub use page_file::PageFile;
pub use session::{prepare, MergeReport, PlanSummary, PreparedMerge};

use crate::error::MergeError;
use crate::exec::{ExecHooks, Progress, DEFAULT_CHUNK_ELEMENTS};
use crate::merge::catalog::{BasePolicy, MethodKind, ParamKind, Scope};

/// mergekit's default `--out-shard-size`, as `native::DEFAULT_SHARD_BYTES` (native-only module).
const DEFAULT_SHARD_BYTES: u64 = 5_000_000_000;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate version, for the page footer.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MethodInfo {
    key: &'static str,
    base: &'static str,
    /// A base listed under `models:` is merged like the rest (no special base).
    merges_listed_base: bool,
    min_models: usize,
    /// `None`: no upper bound.
    max_models: Option<usize>,
    random: bool,
    params: Vec<ParamInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParamInfo {
    name: &'static str,
    per_model: bool,
    /// `number`, `flag`, `rescale` (0 off, 1 L1, 2 inverse) or `consensus` (0 sum, 1 count).
    kind: &'static str,
    min: Option<f64>,
    max: Option<f64>,
    /// `None`: required.
    default: Option<f64>,
}

/// Every merge method with its declared parameters (`MethodKind::params`), for the page's form.
#[wasm_bindgen]
pub fn methods() -> Result<JsValue, JsValue> {
    let finite = |x: f64| x.is_finite().then_some(x);
    let list: Vec<MethodInfo> = MethodKind::all()
        .map(|m| {
            let (min_models, max_models) = m.arity();
            MethodInfo {
                key: m.key(),
                base: match m.base_policy() {
                    BasePolicy::Required => "required",
                    BasePolicy::Optional => "optional",
                },
                merges_listed_base: m.merges_listed_base(),
                min_models,
                max_models: (max_models != usize::MAX).then_some(max_models),
                random: m.is_random(),
                params: m
                    .params()
                    .iter()
                    .map(|d| {
                        let (kind, min, max) = match d.kind {
                            ParamKind::Number { min, max } => ("number", finite(min), finite(max)),
                            ParamKind::Flag => ("flag", None, None),
                            ParamKind::RescaleMode => ("rescale", None, None),
                            ParamKind::ConsensusMode => ("consensus", None, None),
                        };
                        ParamInfo {
                            name: d.name.key(),
                            per_model: d.scope == Scope::PerModel,
                            kind,
                            min,
                            max,
                            default: d.default,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    to_js(&list)
}

/// A YAML document as plain JS data, for filling the page's form from an imported config
/// (the config itself is checked by `validate`).
#[wasm_bindgen(js_name = parseYaml)]
pub fn parse_yaml(text: &str) -> Result<JsValue, JsValue> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| to_js_error(MergeError::Yaml(e.to_string())))?;
    to_js(&value)
}

/// Reads the headers of one model (`{name, files}` picked, or `{name, hub}` streamed from the
/// hub `options.hub` names: `{endpoint, token}`) and summarises it.
#[wasm_bindgen]
pub async fn inspect(model: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let options = MergeOptionsJs::parse(options)?;
    let folder = resolve_model(&model, &options.hub, Listing::Remembered)
        .await
        .map_err(to_js_error)?;
    let summary = folder.summary().await.map_err(to_js_error)?;
    to_js(&summary)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MergeOptionsJs {
    /// Overrides the config's seeds, as the CLI's `--seed`.
    seed: Option<u64>,
    max_shard_bytes: Option<u64>,
    chunk_elements: Option<usize>,
    /// `auto` (default: WebGPU when usable, else the CPU) or `cpu`.
    device: Option<String>,
    /// Where `{name, hub}` models stream from.
    hub: PageHub,
}

impl MergeOptionsJs {
    fn parse(value: JsValue) -> Result<Self, JsValue> {
        if value.is_undefined() || value.is_null() {
            return Ok(Self::default());
        }
        serde_wasm_bindgen::from_value(value)
            .map_err(|e| to_js_error(MergeError::config("options", e.to_string())))
    }

    fn max_shard_bytes(&self) -> u64 {
        self.max_shard_bytes.unwrap_or(DEFAULT_SHARD_BYTES).max(1)
    }

    fn device(&self) -> Result<DeviceChoice, JsValue> {
        DeviceChoice::parse(self.device.as_deref()).map_err(to_js_error)
    }
}

/// Whether merges will run on WebGPU: `{available, detail, bindingLimit}`, where `detail` is
/// the adapter's name or why WebGPU is unusable. Requests the device once, for every merge.
#[wasm_bindgen(js_name = gpuStatus)]
pub async fn gpu_status() -> Result<JsValue, JsValue> {
    #[cfg(feature = "gpu")]
    let status = gpu::status().await;
    #[cfg(not(feature = "gpu"))]
    let status = serde_json::json!({
        "available": false,
        "detail": "this build has no WebGPU executor (feature `gpu`)",
        "bindingLimit": null,
    });
    to_js(&status)
}

/// Parses the config, opens every model it names (headers only) and plans the merge.
/// Returns the plan summary, or rejects with the first problem (bad file, shape mismatch…).
#[wasm_bindgen]
pub async fn validate(yaml: String, models: Array, options: JsValue) -> Result<JsValue, JsValue> {
    let options = MergeOptionsJs::parse(options)?;
    let prepared = prepare_js(&yaml, &models, &options, Listing::Remembered).await?;
    to_js(&prepared.summary(options.max_shard_bytes()))
}

/// Runs the merge, writing the output folder's files into `output` (an object with `begin(name)`,
/// `write(bytes)`, `end()`, `flush() → Promise`). `progress` receives `{bytesWritten, bytesTotal,
/// tensorsDone, tensorsTotal}`; the merge stops with a `Cancelled` error once
/// `cancel.cancelled` is true.
#[wasm_bindgen]
pub async fn merge(
    yaml: String,
    models: Array,
    output: JsValue,
    options: JsValue,
    progress: Function,
    cancel: JsValue,
) -> Result<JsValue, JsValue> {
    let options = MergeOptionsJs::parse(options)?;
    let device = options.device()?;
    let prepared = prepare_js(&yaml, &models, &options, Listing::Fresh).await?;
    let sink = JsSink::new(output).map_err(to_js_error)?;
    let mut hooks = JsHooks {
        progress,
        cancel,
        sink: sink.clone(),
    };
    let chunk_elements = options
        .chunk_elements
        .unwrap_or(DEFAULT_CHUNK_ELEMENTS)
        .max(1);
    let report = prepared
        .write(
            sink,
            options.max_shard_bytes(),
            chunk_elements,
            device,
            &mut hooks,
        )
        .await
        .map_err(to_js_error)?;
    to_js(&report)
}

async fn prepare_js(
    yaml: &str,
    models: &Array,
    options: &MergeOptionsJs,
    listing: Listing,
) -> Result<PreparedMerge, JsValue> {
    let mut folders = Vec::new();
    for model in models.iter() {
        folders.push(
            resolve_model(&model, &options.hub, listing)
                .await
                .map_err(to_js_error)?,
        );
    }
    prepare(yaml, folders, options.seed)
        .await
        .map_err(to_js_error)
}

struct JsHooks {
    progress: Function,
    cancel: JsValue,
    sink: JsSink,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressJs {
    bytes_written: u64,
    bytes_total: u64,
    tensors_done: usize,
    tensors_total: usize,
}

impl ExecHooks for JsHooks {
    fn progress(&mut self, p: Progress) {
        let value = ProgressJs {
            bytes_written: p.bytes_written,
            bytes_total: p.bytes_total,
            tensors_done: p.tensors_done,
            tensors_total: p.tensors_total,
        };
        if let Ok(value) = to_js(&value) {
            // A throwing progress callback must not stop the merge.
            let _ = self.progress.call1(&JsValue::NULL, &value);
        }
    }

    fn cancelled(&self) -> bool {
        Reflect::get(&self.cancel, &JsValue::from_str("cancelled"))
            .map(|v| v.is_truthy())
            .unwrap_or(false)
    }

    fn notice(&mut self, message: &str) {
        web_sys::console::info_1(&JsValue::from_str(&format!("mixmerge: {message}")));
    }

    /// At most one chunk's output is queued at a time.
    async fn drain(&mut self) -> crate::error::Result<()> {
        self.sink.flush().await
    }
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
}

/// A JS `Error` with the CLI's message; `name` is the error kind, for the page to style.
fn to_js_error(error: MergeError) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name(error_kind(&error));
    js.into()
}

fn error_kind(error: &MergeError) -> &'static str {
    match error {
        MergeError::Io { .. } => "Io",
        MergeError::MalformedHeader { .. } => "MalformedHeader",
        MergeError::MalformedGguf { .. } => "MalformedGguf",
        MergeError::UnsupportedGgufType { .. } => "UnsupportedGgufType",
        MergeError::BadTensor { .. } => "BadTensor",
        MergeError::UnsupportedDtype { .. } => "UnsupportedDtype",
        MergeError::PickleRefused { .. } => "PickleRefused",
        MergeError::ModelNotFound { .. } => "ModelNotFound",
        MergeError::HubReference { .. } => "HubReference",
        MergeError::BadIndex { .. } => "BadIndex",
        MergeError::Config { .. } => "Config",
        MergeError::Yaml(_) => "Yaml",
        MergeError::Mismatch { .. } => "Mismatch",
        MergeError::MissingTensor { .. } => "MissingTensor",
        MergeError::Output { .. } => "Output",
        MergeError::Unsupported(_) => "Unsupported",
        MergeError::Tokenizer { .. } => "Tokenizer",
        MergeError::Cancelled => "Cancelled",
        MergeError::EvaluationCancelled => "EvaluationCancelled",
    }
}
