//! A search from files: the search file, its recipe's checkpoints and the baselines' read
//! from disk, and evaluations of a generation spread over every core.

use std::path::{Path, PathBuf};

use super::pool::{Pool, PoolModel};
use super::run::Evaluator;
use super::session::{SearchData, SearchSession};
use super::spec::parse_search;
use crate::config::parse_config;
use crate::demo::files::load_task_sets;
use crate::demo::score::TaskScore;
use crate::error::{MergeError, Result};
use crate::io::{model_folder, open_checkpoint, open_gguf_file, read_model_config, TensorSource};
use crate::model::{cpu_device, TextTokenizer};

/// A baseline recipe: its name (the file's stem), its text and its folder.
pub struct BaselineRecipe {
    pub name: String,
    pub text: String,
    pub dir: PathBuf,
}

/// Parses `file`, reads every checkpoint its recipe and baselines name (once each), the task
/// sets and the baselines.
pub fn load_search(file: &Path) -> Result<(SearchSession, Vec<BaselineRecipe>)> {
    let text = read(file)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let spec = parse_search(&text, dir, true)?;
    let start = parse_config(&spec.recipe_text(&spec.start()), dir)?;
    let mut baselines = Vec::new();
    let mut baseline_specs = Vec::new();
    for recipe in &spec.baselines {
        let text = read(recipe)?;
        let recipe_dir = recipe.parent().unwrap_or(Path::new(".")).to_path_buf();
        baseline_specs.push(parse_config(&text, &recipe_dir)?);
        baselines.push(BaselineRecipe {
            name: recipe.file_stem().map_or_else(
                || recipe.display().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
            text,
            dir: recipe_dir,
        });
    }
    let mut pool = Pool::default();
    for path in spec.model_paths(&start, &baseline_specs) {
        let checkpoint = open_checkpoint(&path)?;
        pool.models
            .push(pollster::block_on(PoolModel::read(&path, &checkpoint))?);
    }
    let reference = &start.models[start.base.unwrap_or(0)].path;
    let (config, tokenizer) = scoring_files(reference)?;
    let mut data = SearchData::default();
    if let Some(tasks) = &spec.data.tasks {
        data.tasks = load_task_sets(tasks)?;
    }
    if let Some(text) = &spec.data.text {
        data.text = Some((text.display().to_string(), read(text)?));
    }
    let session = SearchSession::new(spec, pool, config, tokenizer, data)?;
    Ok((session, baselines))
}

/// The config and tokenizer scoring needs: a GGUF file's own, else the model folder's
/// `config.json` and `tokenizer.json`.
fn scoring_files(model: &Path) -> Result<(serde_json::Value, TextTokenizer)> {
    if model
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        let file = open_gguf_file(model)?;
        let tokenizer = TextTokenizer::from_gguf(file.source().name(), &file.tokenizer()?)?;
        return Ok((file.hf_config()?.to_config_json()?, tokenizer));
    }
    let folder = model_folder(model);
    let config = read_model_config(&folder)?.ok_or_else(|| MergeError::ModelNotFound {
        path: format!("{} (no config.json; scoring needs it)", folder.display()),
    })?;
    let tokenizer = TextTokenizer::from_file(&folder.join("tokenizer.json"))?;
    Ok((config, tokenizer))
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).map_err(|e| MergeError::io(file.display(), e))
}

/// Scores a generation's points on `threads` threads, each with its own CPU device; the
/// results come back in the points' order, whatever order they finish in.
pub struct ThreadedEvaluator<'a> {
    pub session: &'a SearchSession,
    pub threads: usize,
}

impl Evaluator for ThreadedEvaluator<'_> {
    async fn evaluate(&mut self, points: &[Vec<f64>]) -> Result<Vec<Vec<TaskScore>>> {
        let threads = self.threads.clamp(1, points.len().max(1));
        let session = self.session;
        let mut slots: Vec<Option<Result<Vec<TaskScore>>>> =
            (0..points.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let device = cpu_device().device;
                        (t..points.len())
                            .step_by(threads)
                            .map(|i| {
                                (
                                    i,
                                    pollster::block_on(session.score_point(&points[i], &device)),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for worker in workers {
                for (i, scores) in worker.join().expect("an evaluation thread panicked") {
                    slots[i] = Some(scores);
                }
            }
        });
        slots
            .into_iter()
            .map(|s| s.expect("every point scored"))
            .collect()
    }
}
