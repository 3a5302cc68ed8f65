//! The search in the browser: `runSearch` takes the search file's text, the model folders its
//! recipe names (by folder name), the task sets and baseline recipes, and runs the CLI's
//! search one evaluation after another in this worker, reporting each generation's figures.

use std::path::{Path, PathBuf};

use js_sys::Function;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::device::{self, DeviceUsed};
use super::hooks::PageControl;
use super::parse;
use super::sweep::{scoring_files, task_sets, TaskText};
use crate::config::{parse_config_with, ParseOptions};
use crate::demo::score::TaskScore;
use crate::error::{MergeError, Result};
use crate::model::InferenceDevice;
use crate::search::pool::{short_name, Pool, PoolModel};
use crate::search::svg::{convergence_svg, front_svg, live_front_svg, weights_svg};
use crate::search::{
    parse_search, run_search, Evaluation, Evaluator, SearchData, SearchHooks, SearchLog,
    SearchOutcome, SearchSession,
};
use crate::wasm::{to_js, to_js_error, DeviceChoice, ModelFolder};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SearchOptionsJs {
    device: Option<String>,
    /// The search file's folder, as the page serves it (`demo/search`): its recipe's relative
    /// paths resolve against it, and each model is the folder of that name.
    base_dir: String,
    /// The text `search.data.text` names, fetched by the page.
    text: Option<String>,
}

/// One finished generation, for the live figures.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationReport<'a> {
    done: usize,
    budget: usize,
    best: &'a Evaluation,
    convergence: String,
    front: Option<String>,
    weights: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchResult<'a> {
    log: &'a SearchLog,
    outcome: &'a SearchOutcome,
    convergence: String,
    front: Option<String>,
    weights: Option<String>,
    seconds: f64,
    evaluations_per_second: f64,
    device: &'a DeviceUsed,
}

/// Runs the search of `search` (the file's text) on `models` (`[{name, files}]`), `tasks`
/// (`[{name, text}]`, JSON lines) and `baselines` (`[{name, text}]`, recipes beside the search
/// file's folder); `control` is `{cancelled, pause(), onGeneration(report)}`.
#[wasm_bindgen(js_name = runSearch)]
pub async fn run_search_js(
    search: String,
    models: js_sys::Array,
    tasks: JsValue,
    baselines: JsValue,
    options: JsValue,
    control: JsValue,
) -> std::result::Result<JsValue, JsValue> {
    let options: SearchOptionsJs = parse(options, "options")?;
    let choice = DeviceChoice::parse(options.device.as_deref()).map_err(to_js_error)?;
    let tasks: Vec<TaskText> = serde_wasm_bindgen::from_value(tasks)
        .map_err(|e| to_js_error(MergeError::config("tasks", e.to_string())))?;
    let baselines: Vec<TaskText> = serde_wasm_bindgen::from_value(baselines)
        .map_err(|e| to_js_error(MergeError::config("baselines", e.to_string())))?;
    let folders = models
        .iter()
        .map(|m| ModelFolder::from_js(&m))
        .collect::<Result<Vec<_>>>()
        .map_err(to_js_error)?;
    let base_dir = PathBuf::from(&options.base_dir);
    let (device, used) = device::choose(choice).await;
    let session = load(
        &search,
        &base_dir,
        &folders,
        &tasks,
        &baselines,
        options.text,
    )
    .await
    .map_err(to_js_error)?;
    // The search's own time, as the CLI reports it: loading and the baselines are not in it.
    let start = crate::eval::clock::seconds();
    let mut evaluator = TabEvaluator {
        session: &session,
        device: &device,
    };
    let mut hooks = JsSearchControl::new(control, &session);
    let log = run_search(&session.spec, &mut evaluator, &mut hooks)
        .await
        .map_err(to_js_error)?;
    let seconds = crate::eval::clock::seconds() - start;
    let recipes: Vec<(String, String, &Path)> = baselines
        .iter()
        .map(|b| (b.name.clone(), b.text.clone(), base_dir.as_path()))
        .collect();
    let outcome = session
        .finish(&log, &recipes, &device.device)
        .await
        .map_err(to_js_error)?;
    let weights = log
        .chosen
        .first()
        .map(|&i| weights_svg(&session.spec.free, &log.evaluations[i].values));
    to_js(&SearchResult {
        convergence: convergence_svg(&log.evaluations),
        front: front_svg(&log, &outcome),
        weights,
        seconds,
        evaluations_per_second: log.evaluations.len() as f64 / seconds,
        device: &used,
        log: &log,
        outcome: &outcome,
    })
}

/// The session from the page's files: every model the recipe and the baselines name, found by
/// folder name among `folders`.
async fn load(
    search: &str,
    base_dir: &Path,
    folders: &[ModelFolder],
    tasks: &[TaskText],
    baselines: &[TaskText],
    text: Option<String>,
) -> Result<SearchSession> {
    let spec = parse_search(search, base_dir, false)?;
    let no_paths = ParseOptions { check_paths: false };
    let start = parse_config_with(&spec.recipe_text(&spec.start()), base_dir, &no_paths)?;
    let baseline_specs = baselines
        .iter()
        .map(|b| {
            parse_config_with(&b.text, base_dir, &no_paths)
                .map_err(|e| MergeError::config(format!("baselines: {}", b.name), e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut pool = Pool::default();
    for path in spec.model_paths(&start, &baseline_specs) {
        let name = short_name(&path);
        let folder =
            folders
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| MergeError::ModelNotFound {
                    path: format!("{} (the page gave no folder `{name}`)", path.display()),
                })?;
        pool.models
            .push(PoolModel::read(&path, &folder.open().await?).await?);
    }
    let reference = short_name(&start.models[start.base.unwrap_or(0)].path);
    let folder = folders
        .iter()
        .find(|f| f.name == reference)
        .expect("loaded above");
    let (config, tokenizer) = scoring_files(folder).await?;
    let text = match (&spec.data.text, text) {
        (Some(file), Some(text)) => Some((file.display().to_string(), text)),
        (Some(file), None) => {
            return Err(MergeError::config(
                "search.data.text",
                format!("the page gave no text for {}", file.display()),
            ))
        }
        (None, _) => None,
    };
    let data = SearchData {
        tasks: task_sets(tasks)?,
        text,
    };
    SearchSession::new(spec, pool, config, tokenizer, data)
}

/// One point after another on this worker's device.
struct TabEvaluator<'a> {
    session: &'a SearchSession,
    device: &'a InferenceDevice,
}

impl Evaluator for TabEvaluator<'_> {
    async fn evaluate(&mut self, points: &[Vec<f64>]) -> Result<Vec<Vec<TaskScore>>> {
        let mut out = Vec::with_capacity(points.len());
        for point in points {
            out.push(self.session.score_point(point, &self.device.device).await?);
        }
        Ok(out)
    }
}

/// The page's `control`: `{cancelled, pause(), onGeneration(report)}`.
struct JsSearchControl<'a> {
    page: PageControl,
    on_generation: Option<Function>,
    session: &'a SearchSession,
}

impl<'a> JsSearchControl<'a> {
    fn new(control: JsValue, session: &'a SearchSession) -> Self {
        let page = PageControl::new(control);
        JsSearchControl {
            on_generation: page.method("onGeneration"),
            page,
            session,
        }
    }
}

impl SearchHooks for JsSearchControl<'_> {
    async fn before_generation(&mut self) -> Result<()> {
        match self.page.pause_then_cancelled().await {
            true => Err(MergeError::Cancelled),
            false => Ok(()),
        }
    }

    fn generation_done(&mut self, log: &[Evaluation], best: usize, budget: usize) {
        if self.on_generation.is_none() {
            return;
        }
        let report = GenerationReport {
            done: log.len(),
            budget,
            best: &log[best],
            convergence: convergence_svg(log),
            front: live_front_svg(&self.session.spec.objectives, log),
            weights: weights_svg(&self.session.spec.free, &log[best].values),
        };
        self.page.notify(&self.on_generation, &report);
    }
}

#[derive(Serialize)]
struct SearchFiles {
    /// The task sets' folder, the text and the baseline recipes, relative to the search
    /// file's folder.
    tasks: Option<String>,
    text: Option<String>,
    baselines: Vec<String>,
}

/// What a search file needs fetched besides the models: `{tasks, text, baselines}`; a bad file fails
/// here, naming its key, before anything is fetched.
#[wasm_bindgen(js_name = searchFiles)]
pub fn search_files(search: String) -> std::result::Result<JsValue, JsValue> {
    let spec = parse_search(&search, Path::new(""), false).map_err(to_js_error)?;
    let shown = |p: &Path| p.display().to_string();
    to_js(&SearchFiles {
        tasks: spec.data.tasks.as_deref().map(shown),
        text: spec.data.text.as_deref().map(shown),
        baselines: spec.baselines.iter().map(|p| shown(p)).collect(),
    })
}
