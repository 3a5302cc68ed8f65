//! The sweeps in the browser: `loadSweep` reads the demo models once (base, experts, task
//! sets), then `sweepPath` / `sweepPlane` re-merge and score them in memory and return the
//! report (the CLI's JSON) with its SVG; `scoreOnSweepTasks` scores any model on the same tasks.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::device::{self, DeviceUsed};
use super::hooks::PageControl;
use super::parse;
use crate::demo::score::{TaskScore, TaskSet};
use crate::demo::sweep::svg::{path_svg, plane_svg};
use crate::demo::sweep::{
    default_pair, run_path, run_plane, MixupSampling, PairMethod, PathOptions, PlaneOptions,
    PointDone, SweepHooks, SweepModels, TensorSet,
};
use crate::demo::tasks::parse_jsonl;
use crate::error::{MergeError, Result};
use crate::io::TensorSource;
use crate::model::{InferenceDevice, TextTokenizer};
use crate::wasm::{to_js, to_js_error, DeviceChoice, ModelFolder};

struct Loaded {
    models: SweepModels,
    device: InferenceDevice,
    used: DeviceUsed,
}

thread_local! {
    static SWEEP: RefCell<Option<Rc<Loaded>>> = const { RefCell::new(None) };
}

fn loaded() -> std::result::Result<Rc<Loaded>, JsValue> {
    SWEEP
        .with_borrow(Clone::clone)
        .ok_or_else(|| to_js_error(MergeError::Unsupported("call loadSweep first".into())))
}

/// A named text the page sends: a task file, a recipe.
#[derive(Deserialize)]
pub(super) struct TaskText {
    pub name: String,
    pub text: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LoadSweepOptions {
    device: Option<String>,
    /// The first N examples of each task (all when absent).
    examples: Option<usize>,
    /// `scores.json` of the demo, for the default pair.
    scores: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadSweepReport<'a> {
    base: &'a str,
    experts: Vec<&'a str>,
    tasks: Vec<&'a str>,
    examples_per_task: usize,
    default_pair: Option<(String, String)>,
    device: &'a DeviceUsed,
    seconds: f64,
}

/// Loads `base` and `experts` (`{name, files}` each, sharing `config.json` and `tokenizer.json`
/// with the base) and `tasks` (`[{name, text}]`, JSON lines), replacing what was loaded before.
#[wasm_bindgen(js_name = loadSweep)]
pub async fn load_sweep(
    base: JsValue,
    experts: js_sys::Array,
    tasks: JsValue,
    options: JsValue,
) -> std::result::Result<JsValue, JsValue> {
    let options: LoadSweepOptions = parse(options, "options")?;
    let choice = DeviceChoice::parse(options.device.as_deref()).map_err(to_js_error)?;
    let tasks: Vec<TaskText> = serde_wasm_bindgen::from_value(tasks)
        .map_err(|e| to_js_error(MergeError::config("tasks", e.to_string())))?;
    let start = crate::eval::clock::seconds();
    let base = ModelFolder::from_js(&base).map_err(to_js_error)?;
    let experts = experts
        .iter()
        .map(|e| ModelFolder::from_js(&e))
        .collect::<Result<Vec<_>>>()
        .map_err(to_js_error)?;
    let models = read_models(&base, &experts, &tasks, options.examples)
        .await
        .map_err(to_js_error)?;
    let default_pair = match &options.scores {
        Some(scores) => Some(default_pair(scores, &models.base.name).map_err(to_js_error)?),
        None => None,
    };
    let (device, used) = device::choose(choice).await;
    let state = Rc::new(Loaded {
        models,
        device,
        used,
    });
    SWEEP.with_borrow_mut(|slot| *slot = Some(state.clone()));
    let m = &state.models;
    to_js(&LoadSweepReport {
        base: &m.base.name,
        experts: m.experts.iter().map(|e| e.name.as_str()).collect(),
        tasks: m.scorer.tasks.iter().map(|t| t.name.as_str()).collect(),
        examples_per_task: m.examples_per_task(),
        default_pair,
        device: &state.used,
        seconds: crate::eval::clock::seconds() - start,
    })
}

async fn read_models(
    base: &ModelFolder,
    experts: &[ModelFolder],
    tasks: &[TaskText],
    examples: Option<usize>,
) -> Result<SweepModels> {
    let (config, tokenizer) = scoring_files(base).await?;
    let base_set = read_folder(base).await?;
    let mut expert_sets = Vec::with_capacity(experts.len());
    for expert in experts {
        expert_sets.push(read_folder(expert).await?);
    }
    let sets = task_sets(tasks)?;
    SweepModels::new(config, tokenizer, base_set, expert_sets, sets, examples)
}

/// The `config.json` and tokenizer that scoring `folder`'s family needs.
pub(super) async fn scoring_files(
    folder: &ModelFolder,
) -> Result<(serde_json::Value, TextTokenizer)> {
    let config = folder.model_config().await?.ok_or_else(|| {
        MergeError::config(
            format!("{}/config.json", folder.name),
            "missing; scoring needs it",
        )
    })?;
    let tokenizer_file = folder
        .file("tokenizer.json")
        .ok_or_else(|| MergeError::Tokenizer {
            file: format!("{}/tokenizer.json", folder.name),
            reason: "missing; scoring needs the model's tokenizer".into(),
        })?;
    let tokenizer =
        TextTokenizer::from_bytes(tokenizer_file.name(), &tokenizer_file.read_all().await?)?;
    Ok((config, tokenizer))
}

/// The page's task files (`[{name, text}]`, JSON lines) as task sets.
pub(super) fn task_sets(tasks: &[TaskText]) -> Result<Vec<TaskSet>> {
    tasks
        .iter()
        .map(|t| {
            Ok(TaskSet {
                name: t.name.clone(),
                examples: parse_jsonl(&format!("{}.jsonl", t.name), &t.text)?,
            })
        })
        .collect()
}

async fn read_folder(folder: &ModelFolder) -> Result<TensorSet> {
    let mut set = TensorSet::read(&folder.open().await?).await?;
    set.name = folder.name.clone();
    Ok(set)
}

/// The page's `control`: `{cancelled, pause(), onPoint({done, total})}`.
struct JsSweepControl {
    page: PageControl,
    on_point: Option<Function>,
}

impl JsSweepControl {
    fn new(control: JsValue) -> Self {
        let page = PageControl::new(control);
        JsSweepControl {
            on_point: page.method("onPoint"),
            page,
        }
    }
}

impl SweepHooks for JsSweepControl {
    async fn before_point(&mut self) -> Result<()> {
        match self.page.pause_then_cancelled().await {
            true => Err(MergeError::Cancelled),
            false => Ok(()),
        }
    }

    fn point_done(&mut self, progress: PointDone) {
        self.page.notify(&self.on_point, &progress);
    }
}

#[derive(Serialize)]
struct SweepResult<'a, R> {
    report: &'a R,
    svg: String,
    seconds: f64,
    device: &'a DeviceUsed,
}

/// The pair to sweep: the one asked for, else the default of `loadSweep`'s scores.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PathOptionsJs {
    a: String,
    b: String,
    points: usize,
    methods: Vec<String>,
    density: f64,
    scale: f64,
    samples: usize,
    alpha: f64,
    mixup_seed: u64,
    mixup_method: String,
    seed: u64,
}

impl Default for PathOptionsJs {
    /// The CLI's defaults.
    fn default() -> Self {
        PathOptionsJs {
            a: String::new(),
            b: String::new(),
            points: 21,
            methods: ["linear", "task_arithmetic", "ties", "dare_ties"]
                .map(String::from)
                .to_vec(),
            density: 0.5,
            scale: 1.0,
            samples: 8,
            alpha: 0.5,
            mixup_seed: 0,
            mixup_method: "linear".into(),
            seed: 0,
        }
    }
}

/// The interpolation path (options as `mixmerge sweep path`'s flags, camelCase): `{report, svg}`.
#[wasm_bindgen(js_name = sweepPath)]
pub async fn sweep_path(
    options: JsValue,
    control: JsValue,
) -> std::result::Result<JsValue, JsValue> {
    let o: PathOptionsJs = parse(options, "options")?;
    let state = loaded()?;
    let methods = PairMethod::parse_list(&o.methods, o.density, o.scale).map_err(to_js_error)?;
    let mixup_method =
        PairMethod::parse_list(std::slice::from_ref(&o.mixup_method), o.density, o.scale)
            .map_err(to_js_error)?[0];
    let options = PathOptions {
        a: o.a,
        b: o.b,
        points: o.points,
        methods,
        mixup: (o.samples > 0).then_some(MixupSampling {
            alpha: o.alpha,
            samples: o.samples,
            seed: o.mixup_seed,
            method: mixup_method,
        }),
        seed: o.seed,
    };
    let start = crate::eval::clock::seconds();
    let mut hooks = JsSweepControl::new(control);
    let report = run_path(&state.models, &options, &state.device.device, &mut hooks)
        .await
        .map_err(to_js_error)?;
    to_js(&SweepResult {
        svg: path_svg(&report),
        report: &report,
        seconds: crate::eval::clock::seconds() - start,
        device: &state.used,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PlaneOptionsJs {
    a: String,
    b: String,
    grid: usize,
    min: f64,
    max: f64,
    merges: Vec<String>,
    merge_weights: [f64; 2],
    density: f64,
    seed: u64,
}

impl Default for PlaneOptionsJs {
    /// The CLI's defaults.
    fn default() -> Self {
        PlaneOptionsJs {
            a: String::new(),
            b: String::new(),
            grid: 7,
            min: -0.25,
            max: 1.25,
            merges: ["linear", "ties", "dare_ties"].map(String::from).to_vec(),
            merge_weights: [1.0, 1.0],
            density: 0.5,
            seed: 0,
        }
    }
}

/// The plane through base, A and B (options as `mixmerge sweep plane`'s flags): `{report, svg}`.
#[wasm_bindgen(js_name = sweepPlane)]
pub async fn sweep_plane(
    options: JsValue,
    control: JsValue,
) -> std::result::Result<JsValue, JsValue> {
    let o: PlaneOptionsJs = parse(options, "options")?;
    let state = loaded()?;
    let options = PlaneOptions {
        a: o.a,
        b: o.b,
        grid: o.grid,
        min: o.min,
        max: o.max,
        merges: PairMethod::parse_list(&o.merges, o.density, 1.0).map_err(to_js_error)?,
        merge_weights: o.merge_weights,
        seed: o.seed,
    };
    let start = crate::eval::clock::seconds();
    let mut hooks = JsSweepControl::new(control);
    let report = run_plane(&state.models, &options, &state.device.device, &mut hooks)
        .await
        .map_err(to_js_error)?;
    to_js(&SweepResult {
        svg: plane_svg(&report),
        report: &report,
        seconds: crate::eval::clock::seconds() - start,
        device: &state.used,
    })
}

/// Every task's score of `model` (`{name, files}`, e.g. a merge the page made of the demo experts).
#[wasm_bindgen(js_name = scoreOnSweepTasks)]
pub async fn score_on_sweep_tasks(model: JsValue) -> std::result::Result<JsValue, JsValue> {
    let state = loaded()?;
    let folder = ModelFolder::from_js(&model).map_err(to_js_error)?;
    let scores: Vec<TaskScore> = async {
        let set = read_folder(&folder).await?;
        state.models.base.check_same_layout(&[&set])?;
        state.models.score(&set, &state.device.device).await
    }
    .await
    .map_err(to_js_error)?;
    to_js(&scores)
}
