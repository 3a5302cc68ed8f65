//! `anatomy`: the task-vector anatomy of picked models, for the page's Anatomy panel — the same
//! JSON and SVG text `mixmerge sweep anatomy --json --svg` writes.

use js_sys::Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::hub_folder::{resolve_model, Listing, PageHub};
use super::{to_js, to_js_error};
use crate::error::MergeError;
use crate::viz::anatomy::{anatomy as compute, svg, AnatomyOptions};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnatomyOptionsJs {
    /// Which of `models` is the base; the others are the experts, in order.
    base: String,
    tensor: Option<String>,
    density: Option<f64>,
    seed: Option<u64>,
    /// Where `{name, hub}` models stream from.
    #[serde(default)]
    hub: PageHub,
}

#[derive(Serialize)]
struct AnatomyFigure {
    json: String,
    svg: String,
}

/// `models`: `{name, files}` (or `{name, hub}`) of the base and the experts; `options`:
/// `{base, tensor?, density?, seed?, hub?}`. Returns `{json, svg}`.
#[wasm_bindgen]
pub async fn anatomy(models: Array, options: JsValue) -> Result<JsValue, JsValue> {
    let options: AnatomyOptionsJs = serde_wasm_bindgen::from_value(options)
        .map_err(|e| to_js_error(MergeError::config("options", e.to_string())))?;
    let mut base = None;
    let mut experts = Vec::new();
    for model in models.iter() {
        let folder = resolve_model(&model, &options.hub, Listing::Remembered)
            .await
            .map_err(to_js_error)?;
        let checkpoint = folder.open().await.map_err(to_js_error)?;
        match folder.name == options.base && base.is_none() {
            true => base = Some(checkpoint),
            false => experts.push(checkpoint),
        }
    }
    let base = base.ok_or_else(|| {
        to_js_error(MergeError::config(
            "base",
            format!("`{}` is not one of the given models", options.base),
        ))
    })?;
    let defaults = AnatomyOptions::default();
    let settings = AnatomyOptions {
        tensor: options.tensor,
        density: options.density.unwrap_or(defaults.density),
        seed: options.seed.unwrap_or(defaults.seed),
    };
    let result = compute(&base, &experts, &settings)
        .await
        .map_err(to_js_error)?;
    let json = serde_json::to_string_pretty(&result)
        .map_err(|e| to_js_error(MergeError::Unsupported(e.to_string())))?;
    let figure = AnatomyFigure {
        json: json + "\n",
        svg: svg::render(&result).map_err(to_js_error)?,
    };
    to_js(&figure)
}
