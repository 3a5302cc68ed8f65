//! A search file: a mergekit recipe plus a `search:` section naming what is free (per-model or
//! global parameters, per layer group and per gradient point, M³'s α), the objectives, the
//! optimiser, the data and the baselines. Every error names its key path, as recipe errors do.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::config::yaml::{
    check_keys, child, get, get_some, item, mapping, non_negative_integer, number, sequence, string,
};
use crate::config::{parse_config_with, MergeSpec, ParseOptions};
use crate::error::{MergeError, Result};
use crate::merge::catalog::{MethodKind, ParamKind, ParamName, Scope};

use super::objective::{Metric, ObjectiveSpec};
use super::pool::normalise;

const SEARCH_KEYS: &[&str] = &[
    "parameters",
    "layers",
    "objectives",
    "optimiser",
    "seed",
    "data",
    "baselines",
];
const LAYER_KEYS: &[&str] = &["choices", "slices"];
const PARAMETER_KEYS: &[&str] = &["name", "models", "groups", "points", "bounds", "start"];
const OBJECTIVE_KEYS: &[&str] = &["name", "tasks", "metric"];
const OPTIMISER_KEYS: &[&str] = &[
    "kind",
    "evaluations",
    "population",
    "sigma",
    "runs",
    "points",
    "preferences",
];
const DATA_KEYS: &[&str] = &[
    "tasks",
    "text",
    "window",
    "search_examples",
    "held_out_examples",
];

/// Tensors of a layer group, as mergekit filters (substrings of the tensor name). Whatever no
/// filter names (embeddings, `lm_head`, the final norm) is the `embeddings` group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Embeddings,
    Attention,
    Mlp,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::Embeddings, Group::Attention, Group::Mlp];

    pub fn key(self) -> &'static str {
        match self {
            Group::Embeddings => "embeddings",
            Group::Attention => "attention",
            Group::Mlp => "mlp",
        }
    }

    /// The filters of this group's tensors; empty for the catch-all group.
    pub fn filters(self) -> &'static [&'static str] {
        match self {
            Group::Embeddings => &[],
            Group::Attention => &["self_attn", "input_layernorm"],
            Group::Mlp => &["mlp", "post_attention_layernorm"],
        }
    }
}

/// Where a free parameter lives in the recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// `models[i].parameters`.
    Model(usize),
    /// Top-level `parameters`.
    Top,
    /// `mixup.alpha`.
    Mixup,
    /// `slices[i]`'s one source model, one of [`SearchSpec::choices`] (HM3's architecture space).
    SliceModel(usize),
}

/// One coordinate of the search space.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeParameter {
    /// `sorting.weight`, `density[mlp]`, `lambda@2`…: for logs and figures.
    pub label: String,
    pub place: Place,
    /// `None` for M³'s α and for a slice's model.
    pub param: Option<ParamName>,
    pub group: Option<Group>,
    /// Index among the gradient's `points` (0 when `points` is 1).
    pub point: usize,
    pub points: usize,
    pub bounds: (f64, f64),
    pub start: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OptimiserSpec {
    /// One objective, or the preference-weighted sum of several.
    Cmaes {
        evaluations: usize,
        population: Option<usize>,
        sigma: f64,
        preferences: Vec<f64>,
    },
    /// Preference-weighted CMA-ES runs spread over the simplex; the front of all evaluations.
    Pareto {
        evaluations: usize,
        population: Option<usize>,
        sigma: f64,
        runs: usize,
    },
    /// Every point of a grid over one or two free parameters, `points` per axis.
    Grid { points: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    /// Folder of held-out `*.jsonl` task sets.
    pub tasks: Option<PathBuf>,
    /// A text whose halves are the search and held-out splits of a perplexity objective.
    pub text: Option<PathBuf>,
    /// Most tokens in one perplexity window.
    pub window: usize,
    pub search_examples: usize,
    pub held_out_examples: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpec {
    /// The recipe without `search:`, as written.
    pub recipe: Mapping,
    /// The search file's folder: the recipe's paths resolve against it.
    pub base_dir: PathBuf,
    pub method: MethodKind,
    pub free: Vec<FreeParameter>,
    /// The models a slice may take its layers from (`search.layers.choices`, as written).
    pub choices: Vec<String>,
    pub objectives: Vec<ObjectiveSpec>,
    pub optimiser: OptimiserSpec,
    pub seed: u64,
    pub data: DataSpec,
    /// Recipe files scored beside the result, resolved against `base_dir`.
    pub baselines: Vec<PathBuf>,
}

impl SearchSpec {
    /// Models the search may use beyond the recipe's own: the slices' choices.
    pub fn choice_paths(&self) -> Vec<PathBuf> {
        self.choices.iter().map(|c| self.base_dir.join(c)).collect()
    }

    /// Every checkpoint the search reads, once each (compared after `normalise`): `start`'s
    /// (the recipe at its start), the slices' choices, and the `baselines` recipes'.
    pub fn model_paths(&self, start: &MergeSpec, baselines: &[MergeSpec]) -> Vec<PathBuf> {
        let recipes = std::iter::once(start).chain(baselines);
        let named = recipes.flat_map(|r| r.models.iter().map(|m| m.path.clone()));
        let mut paths: Vec<PathBuf> = Vec::new();
        for path in named.chain(self.choice_paths()) {
            if !paths.iter().any(|p| normalise(p) == normalise(&path)) {
                paths.push(path);
            }
        }
        paths
    }
}

/// Parses a search file; `check_paths` as for recipes (off in the browser).
pub fn parse_search(text: &str, base_dir: &Path, check_paths: bool) -> Result<SearchSpec> {
    let mut root: Value =
        serde_yaml::from_str(text).map_err(|e| MergeError::Yaml(e.to_string()))?;
    root.apply_merge()
        .map_err(|e| MergeError::Yaml(e.to_string()))?;
    let Value::Mapping(mut recipe) = root else {
        return Err(MergeError::config("(top level)", "expected a mapping"));
    };
    let search = recipe.remove("search").ok_or_else(|| {
        MergeError::config("search", "missing: a search file needs a `search:` section")
    })?;
    let recipe_text =
        serde_yaml::to_string(&recipe).map_err(|e| MergeError::Yaml(e.to_string()))?;
    let merge = parse_config_with(&recipe_text, base_dir, &ParseOptions { check_paths })?;
    let entries = mapping(&search, "search")?;
    check_keys(&entries, "search", SEARCH_KEYS, &[])?;

    let model_names = recipe_model_names(&recipe);
    let mut free = Vec::new();
    let (choices, slice_dims) = match get_some(&entries, "layers") {
        None => (Vec::new(), Vec::new()),
        Some(v) => parse_layers(v, &recipe)?,
    };
    free.extend(slice_dims);
    let empty = Value::Sequence(Vec::new());
    let parameters = match get_some(&entries, "parameters") {
        Some(v) => v,
        None if !free.is_empty() => &empty,
        None => {
            return Err(MergeError::config(
                "search.parameters",
                "missing: nothing is free",
            ))
        }
    };
    for (index, value) in sequence(parameters, "search.parameters")?
        .iter()
        .enumerate()
    {
        let path = item("search.parameters", index);
        free.extend(parse_parameter(
            value,
            &path,
            &recipe,
            &model_names,
            merge.method,
            merge.mixup.is_some(),
        )?);
    }
    if free.is_empty() {
        return Err(MergeError::config(
            "search.parameters",
            "empty: nothing is free",
        ));
    }
    for (i, a) in free.iter().enumerate() {
        if free[..i].iter().any(|b| b.label == a.label) {
            return Err(MergeError::config(
                "search.parameters",
                format!("`{}` is free twice", a.label),
            ));
        }
    }

    let objectives = match get_some(&entries, "objectives") {
        None => vec![ObjectiveSpec::default()],
        Some(v) => sequence(v, "search.objectives")?
            .iter()
            .enumerate()
            .map(|(i, v)| parse_objective(v, &item("search.objectives", i)))
            .collect::<Result<Vec<_>>>()?,
    };
    if objectives.is_empty() {
        return Err(MergeError::config(
            "search.objectives",
            "empty: nothing to optimise",
        ));
    }
    let optimiser = parse_optimiser(
        get_some(&entries, "optimiser"),
        objectives.len(),
        free.len(),
    )?;
    let seed = match get_some(&entries, "seed") {
        None => 0,
        Some(v) => non_negative_integer(v, "search.seed")?,
    };
    let data = parse_data(get_some(&entries, "data"), base_dir)?;
    let baselines = match get_some(&entries, "baselines") {
        None => Vec::new(),
        Some(v) => sequence(v, "search.baselines")?
            .iter()
            .enumerate()
            .map(|(i, v)| Ok(base_dir.join(string(v, &item("search.baselines", i))?)))
            .collect::<Result<Vec<_>>>()?,
    };
    Ok(SearchSpec {
        recipe,
        base_dir: base_dir.to_path_buf(),
        method: merge.method,
        free,
        choices,
        objectives,
        optimiser,
        seed,
        data,
        baselines,
    })
}

/// `search.layers`: each slice of the recipe (one source each) takes its layers from one of
/// `choices`, a free choice per slice; the recipe's own models are the start.
fn parse_layers(value: &Value, recipe: &Mapping) -> Result<(Vec<String>, Vec<FreeParameter>)> {
    const PATH: &str = "search.layers";
    let entries = mapping(value, PATH)?;
    check_keys(&entries, PATH, LAYER_KEYS, &[])?;
    let choices_path = child(PATH, "choices");
    let choices: Vec<String> = sequence(
        get_some(&entries, "choices")
            .ok_or_else(|| MergeError::config(&choices_path, "missing"))?,
        &choices_path,
    )?
    .iter()
    .enumerate()
    .map(|(i, v)| string(v, &item(&choices_path, i)).map(str::to_string))
    .collect::<Result<_>>()?;
    if choices.len() < 2 {
        return Err(MergeError::config(
            choices_path,
            "needs at least two models to choose from",
        ));
    }
    let Some(Value::Sequence(slices)) = recipe.get("slices") else {
        return Err(MergeError::config(
            PATH,
            "choosing layers needs a `slices:` recipe",
        ));
    };
    let chosen: Vec<usize> = match get_some(&entries, "slices") {
        None => (0..slices.len()).collect(),
        Some(v) => sequence(v, &child(PATH, "slices"))?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let path = item(&child(PATH, "slices"), i);
                let index = non_negative_integer(v, &path)? as usize;
                match index < slices.len() {
                    true => Ok(index),
                    false => Err(MergeError::config(
                        path,
                        format!("the recipe has {} slices", slices.len()),
                    )),
                }
            })
            .collect::<Result<_>>()?,
    };
    let mut free = Vec::new();
    for index in chosen {
        let sources = slices[index].get("sources").and_then(Value::as_sequence);
        let model = match sources.map(Vec::as_slice) {
            Some([one]) => one.get("model").and_then(Value::as_str),
            _ => None,
        };
        let model = model.ok_or_else(|| {
            MergeError::config(
                format!("slices[{index}].sources"),
                "a slice whose model is chosen has exactly one source",
            )
        })?;
        let start = choices
            .iter()
            .position(|c| c == model || short_name(c) == short_name(model))
            .ok_or_else(|| {
                MergeError::config(
                    format!("slices[{index}].sources[0].model"),
                    format!(
                        "`{model}` is not among {choices_path} ({})",
                        choices.join(", ")
                    ),
                )
            })?;
        free.push(FreeParameter {
            label: format!("slices[{index}].model"),
            place: Place::SliceModel(index),
            param: None,
            group: None,
            point: 0,
            points: 1,
            bounds: (0.0, choices.len() as f64),
            start: start as f64,
        });
    }
    Ok((choices, free))
}

/// `models[i].model` as written, in order (empty for a `slices:` recipe).
fn recipe_model_names(recipe: &Mapping) -> Vec<String> {
    let Some(Value::Sequence(models)) = recipe.get("models") else {
        return Vec::new();
    };
    models
        .iter()
        .map(|m| match m.get("model") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        })
        .collect()
}

/// `../sorting` is named `sorting` too: the folder's last component.
fn short_name(reference: &str) -> &str {
    reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(reference)
}

/// What the recipe gives `param` at `place` (`mixup.alpha` for M³), if anything.
pub(super) fn written_value<'a>(
    recipe: &'a Mapping,
    place: Place,
    param: &str,
) -> Option<&'a Value> {
    let value = match place {
        Place::Model(i) => recipe
            .get("models")?
            .get(i)?
            .get("parameters")?
            .get(param)?,
        Place::Top => recipe.get("parameters")?.get(param)?,
        Place::Mixup => recipe.get("mixup")?.get("alpha")?,
        Place::SliceModel(_) => return None,
    };
    Some(value).filter(|v| !v.is_null())
}

fn parse_parameter(
    value: &Value,
    path: &str,
    recipe: &Mapping,
    model_names: &[String],
    method: MethodKind,
    has_mixup: bool,
) -> Result<Vec<FreeParameter>> {
    let entries = mapping(value, path)?;
    check_keys(&entries, path, PARAMETER_KEYS, &[])?;
    let name_path = child(path, "name");
    let name = string(
        get_some(&entries, "name").ok_or_else(|| MergeError::config(&name_path, "missing"))?,
        &name_path,
    )?;
    let (param, places, range) = if name == "alpha" {
        if !has_mixup {
            return Err(MergeError::config(
                name_path,
                "`alpha` is M³'s: the recipe needs a `mixup:` section",
            ));
        }
        (None, vec![Place::Mixup], (f64::MIN_POSITIVE, f64::INFINITY))
    } else {
        let param = ParamName::from_key(name)
            .ok_or_else(|| MergeError::config(&name_path, format!("unknown parameter `{name}`")))?;
        let declared = method
            .params()
            .iter()
            .find(|d| d.name == param)
            .ok_or_else(|| {
                MergeError::config(
                    &name_path,
                    format!("`{}` does not take `{name}`", method.key()),
                )
            })?;
        let ParamKind::Number { min, max } = declared.kind else {
            return Err(MergeError::config(
                &name_path,
                format!("`{name}` is not a number; only numbers can be searched"),
            ));
        };
        let places = match declared.scope {
            Scope::Global => {
                if get(&entries, "models").is_some() {
                    return Err(MergeError::config(
                        child(path, "models"),
                        format!("`{name}` is global to the merge, not per model"),
                    ));
                }
                vec![Place::Top]
            }
            Scope::PerModel => parse_models(get_some(&entries, "models"), path, model_names)?,
        };
        (Some(param), places, (min, max))
    };
    let groups = match get_some(&entries, "groups") {
        None => Vec::new(),
        Some(v) => parse_groups(v, &child(path, "groups"), param.is_none())?,
    };
    let points = match get_some(&entries, "points") {
        None => 1,
        Some(v) => {
            let points = non_negative_integer(v, &child(path, "points"))? as usize;
            if points == 0 || (points > 1 && param.is_none()) {
                return Err(MergeError::config(
                    child(path, "points"),
                    "must be at least 1, and 1 for `alpha`",
                ));
            }
            points
        }
    };
    let bounds = parse_bounds(get_some(&entries, "bounds"), path, range)?;
    let start = match get_some(&entries, "start") {
        None => None,
        Some(v) => {
            let s = number(v, &child(path, "start"))?;
            if !(bounds.0..=bounds.1).contains(&s) {
                return Err(MergeError::config(
                    child(path, "start"),
                    format!("{s} is outside the bounds {}..{}", bounds.0, bounds.1),
                ));
            }
            Some(s)
        }
    };
    let key = param.map_or("alpha", ParamName::key);
    let mut out = Vec::new();
    for &place in &places {
        if !groups.is_empty()
            && !groups.contains(&Group::Embeddings)
            && written_value(recipe, place, key).is_none()
        {
            return Err(MergeError::config(
                child(path, "groups"),
                format!(
                    "tensors outside the listed groups keep the recipe's `{key}`, but {} gives none: list `embeddings` too, or set it",
                    place_path(place, model_names)
                ),
            ));
        }
        let start = start
            .or_else(|| written_value(recipe, place, key).and_then(Value::as_f64))
            .unwrap_or_else(|| method_default(method, param).unwrap_or((bounds.0 + bounds.1) / 2.0))
            .clamp(bounds.0, bounds.1);
        let group_list: Vec<Option<Group>> = match groups.is_empty() {
            true => vec![None],
            false => groups.iter().copied().map(Some).collect(),
        };
        for group in group_list {
            for point in 0..points {
                out.push(FreeParameter {
                    label: label(place, key, group, point, points, model_names),
                    place,
                    param,
                    group,
                    point,
                    points,
                    bounds,
                    start,
                });
            }
        }
    }
    Ok(out)
}

fn method_default(method: MethodKind, param: Option<ParamName>) -> Option<f64> {
    let param = param?;
    method.params().iter().find(|d| d.name == param)?.default
}

fn place_path(place: Place, model_names: &[String]) -> String {
    match place {
        Place::Model(i) => format!("models[{i}] ({})", model_names[i]),
        Place::Top => "the top-level parameters".into(),
        Place::Mixup => "mixup".into(),
        Place::SliceModel(i) => format!("slices[{i}]"),
    }
}

fn label(
    place: Place,
    key: &str,
    group: Option<Group>,
    point: usize,
    points: usize,
    model_names: &[String],
) -> String {
    let mut label = match place {
        Place::Model(i) => format!("{}.{key}", short_name(&model_names[i])),
        Place::Top | Place::Mixup | Place::SliceModel(_) => key.to_string(),
    };
    if let Some(group) = group {
        label.push_str(&format!("[{}]", group.key()));
    }
    if points > 1 {
        label.push_str(&format!("@{point}"));
    }
    label
}

fn parse_models(value: Option<&Value>, path: &str, model_names: &[String]) -> Result<Vec<Place>> {
    let models_path = child(path, "models");
    if model_names.is_empty() {
        return Err(MergeError::config(
            models_path,
            "per-model parameters are searched on a `models:` recipe (not `slices:`)",
        ));
    }
    let Some(value) = value else {
        return Ok((0..model_names.len()).map(Place::Model).collect());
    };
    let mut places = Vec::new();
    for (i, v) in sequence(value, &models_path)?.iter().enumerate() {
        let wanted = string(v, &item(&models_path, i))?;
        let index = model_names
            .iter()
            .position(|m| m == wanted || short_name(m) == wanted)
            .ok_or_else(|| {
                MergeError::config(
                    item(&models_path, i),
                    format!(
                        "`{wanted}` is not among the recipe's models ({})",
                        model_names.join(", ")
                    ),
                )
            })?;
        if places.contains(&Place::Model(index)) {
            return Err(MergeError::config(
                item(&models_path, i),
                format!("`{wanted}` is listed twice"),
            ));
        }
        places.push(Place::Model(index));
    }
    Ok(places)
}

fn parse_groups(value: &Value, path: &str, is_alpha: bool) -> Result<Vec<Group>> {
    if is_alpha {
        return Err(MergeError::config(
            path,
            "`alpha` is one number for the whole merge",
        ));
    }
    let mut groups = Vec::new();
    for (i, v) in sequence(value, path)?.iter().enumerate() {
        let key = string(v, &item(path, i))?;
        let group = Group::ALL
            .into_iter()
            .find(|g| g.key() == key)
            .ok_or_else(|| {
                MergeError::config(
                    item(path, i),
                    format!("unknown group `{key}`; groups: embeddings, attention, mlp"),
                )
            })?;
        if groups.contains(&group) {
            return Err(MergeError::config(
                item(path, i),
                format!("`{key}` is listed twice"),
            ));
        }
        groups.push(group);
    }
    groups.sort();
    Ok(groups)
}

fn parse_bounds(value: Option<&Value>, path: &str, (min, max): (f64, f64)) -> Result<(f64, f64)> {
    let bounds_path = child(path, "bounds");
    let Some(value) = value else {
        if min.is_finite() && max.is_finite() {
            return Ok((min, max));
        }
        return Err(MergeError::config(
            bounds_path,
            "missing: the parameter's range is unbounded",
        ));
    };
    let pair = sequence(value, &bounds_path)?;
    if pair.len() != 2 {
        return Err(MergeError::config(bounds_path, "expected [low, high]"));
    }
    let low = number(&pair[0], &item(&bounds_path, 0))?;
    let high = number(&pair[1], &item(&bounds_path, 1))?;
    if !(low.is_finite() && high.is_finite() && low < high) {
        return Err(MergeError::config(
            bounds_path,
            format!("needs finite low < high, not {low}..{high}"),
        ));
    }
    if low < min || high > max {
        return Err(MergeError::config(
            bounds_path,
            format!("{low}..{high} leaves the parameter's range {min}..{max}"),
        ));
    }
    Ok((low, high))
}

fn parse_objective(value: &Value, path: &str) -> Result<ObjectiveSpec> {
    let entries = mapping(value, path)?;
    check_keys(&entries, path, OBJECTIVE_KEYS, &[])?;
    let metric = match get_some(&entries, "metric") {
        None => Metric::ExactMatch,
        Some(v) => {
            let key = string(v, &child(path, "metric"))?;
            Metric::from_key(key).ok_or_else(|| {
                MergeError::config(
                    child(path, "metric"),
                    format!(
                        "unknown metric `{key}`; metrics: exact_match, char_accuracy, answer_loss, perplexity"
                    ),
                )
            })?
        }
    };
    let tasks = match get_some(&entries, "tasks") {
        None => Vec::new(),
        Some(v) => sequence(v, &child(path, "tasks"))?
            .iter()
            .enumerate()
            .map(|(i, t)| string(t, &item(&child(path, "tasks"), i)).map(str::to_string))
            .collect::<Result<Vec<_>>>()?,
    };
    let name = match get_some(&entries, "name") {
        None => match tasks.is_empty() {
            true => metric.key().to_string(),
            false => format!("{} ({})", metric.key(), tasks.join(", ")),
        },
        Some(v) => string(v, &child(path, "name"))?.to_string(),
    };
    Ok(ObjectiveSpec {
        name,
        tasks,
        metric,
    })
}

fn parse_optimiser(value: Option<&Value>, objectives: usize, free: usize) -> Result<OptimiserSpec> {
    const PATH: &str = "search.optimiser";
    let empty = Value::Mapping(Mapping::new());
    let entries = mapping(value.unwrap_or(&empty), PATH)?;
    check_keys(&entries, PATH, OPTIMISER_KEYS, &[])?;
    let count = |key: &str, default: usize, least: usize| -> Result<usize> {
        let path = child(PATH, key);
        let n = match get_some(&entries, key) {
            None => default,
            Some(v) => non_negative_integer(v, &path)? as usize,
        };
        if n < least {
            return Err(MergeError::config(
                path,
                format!("must be at least {least}"),
            ));
        }
        Ok(n)
    };
    let kind = match get_some(&entries, "kind") {
        None => match objectives {
            1 => "cmaes",
            _ => "pareto",
        },
        Some(v) => string(v, &child(PATH, "kind"))?,
    };
    let allowed: &[&str] = match kind {
        "cmaes" => &["kind", "evaluations", "population", "sigma", "preferences"],
        "pareto" => &["kind", "evaluations", "population", "sigma", "runs"],
        "grid" => &["kind", "points"],
        other => {
            return Err(MergeError::config(
                child(PATH, "kind"),
                format!("unknown optimiser `{other}`; optimisers: cmaes, pareto, grid"),
            ))
        }
    };
    check_keys(&entries, PATH, allowed, &[])?;
    let sigma = match get_some(&entries, "sigma") {
        None => 0.25,
        Some(v) => {
            let s = number(v, &child(PATH, "sigma"))?;
            if !(s > 0.0 && s <= 1.0) {
                return Err(MergeError::config(
                    child(PATH, "sigma"),
                    "must be in (0, 1]: a share of each parameter's bounds",
                ));
            }
            s
        }
    };
    let population = match get_some(&entries, "population") {
        None => None,
        Some(_) => Some(count("population", 0, 2)?),
    };
    Ok(match kind {
        "cmaes" => {
            let preferences = match get_some(&entries, "preferences") {
                None => vec![1.0 / objectives as f64; objectives],
                Some(v) => {
                    let path = child(PATH, "preferences");
                    let list = sequence(v, &path)?
                        .iter()
                        .enumerate()
                        .map(|(i, p)| number(p, &item(&path, i)))
                        .collect::<Result<Vec<_>>>()?;
                    if list.len() != objectives
                        || list.iter().any(|p| *p < 0.0 || !p.is_finite())
                        || list.iter().sum::<f64>() <= 0.0
                    {
                        return Err(MergeError::config(
                            path,
                            format!("needs {objectives} non-negative weights, not all zero"),
                        ));
                    }
                    list
                }
            };
            OptimiserSpec::Cmaes {
                evaluations: count("evaluations", 100, 1)?,
                population,
                sigma,
                preferences,
            }
        }
        "pareto" => {
            if objectives < 2 {
                return Err(MergeError::config(
                    child(PATH, "kind"),
                    "a Pareto search needs at least two objectives",
                ));
            }
            let runs = count("runs", 5, 2)?;
            OptimiserSpec::Pareto {
                // Every run makes at least one evaluation.
                evaluations: count("evaluations", 200, runs)?,
                population,
                sigma,
                runs,
            }
        }
        _ => {
            if free > 2 {
                return Err(MergeError::config(
                    child(PATH, "kind"),
                    format!("a grid takes one or two free parameters, not {free}"),
                ));
            }
            OptimiserSpec::Grid {
                points: count("points", 11, 2)?,
            }
        }
    })
}

fn parse_data(value: Option<&Value>, base_dir: &Path) -> Result<DataSpec> {
    const PATH: &str = "search.data";
    const WHAT: &str = "the task sets (`tasks:`) or a text (`text:`) to score on";
    let value = value.ok_or_else(|| MergeError::config(PATH, format!("missing: {WHAT}")))?;
    let entries = mapping(value, PATH)?;
    check_keys(&entries, PATH, DATA_KEYS, &[])?;
    let path_of = |key: &str| -> Result<Option<PathBuf>> {
        get_some(&entries, key)
            .map(|v| string(v, &child(PATH, key)).map(|p| base_dir.join(p)))
            .transpose()
    };
    let (tasks, text) = (path_of("tasks")?, path_of("text")?);
    if tasks.is_none() && text.is_none() {
        return Err(MergeError::config(PATH, format!("needs {WHAT}")));
    }
    let count = |key: &str, default: usize, least: usize| -> Result<usize> {
        let n = match get_some(&entries, key) {
            None => default,
            Some(v) => non_negative_integer(v, &child(PATH, key))? as usize,
        };
        if n < least {
            return Err(MergeError::config(
                child(PATH, key),
                format!("must be at least {least}"),
            ));
        }
        Ok(n)
    };
    Ok(DataSpec {
        tasks,
        text,
        window: count("window", 512, 2)?,
        search_examples: count("search_examples", 64, 1)?,
        held_out_examples: count("held_out_examples", 200, 1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = "merge_method: ties\nbase_model: base\nmodels:\n  - model: ../a\n    parameters: {weight: 1.0, density: 0.5}\n  - model: ../b\n    parameters: {weight: 0.8}\nparameters: {lambda: 1.0}\n";

    fn parse(search: &str) -> Result<SearchSpec> {
        let text = format!("{RECIPE}search:\n{search}");
        parse_search(&text, Path::new("dir"), false)
    }

    fn error(search: &str) -> String {
        parse(search).unwrap_err().to_string()
    }

    const DATA: &str = "  data: {tasks: ../tasks}\n";

    #[test]
    fn free_parameters_expand_per_model_group_and_point() {
        let spec = parse(&format!(
            "  parameters:\n    - {{name: weight, bounds: [0, 2]}}\n    - {{name: density, models: [b], groups: [mlp, attention, embeddings], points: 2}}\n    - {{name: lambda, bounds: [0.5, 1.5]}}\n{DATA}"
        ))
        .unwrap();
        let labels: Vec<&str> = spec.free.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "a.weight",
                "b.weight",
                "b.density[embeddings]@0",
                "b.density[embeddings]@1",
                "b.density[attention]@0",
                "b.density[attention]@1",
                "b.density[mlp]@0",
                "b.density[mlp]@1",
                "lambda"
            ]
        );
        // Starts: the recipe's values where it has them, else the method's default.
        assert_eq!(spec.free[0].start, 1.0);
        assert_eq!(spec.free[1].start, 0.8);
        assert_eq!(spec.free[2].bounds, (0.0, 1.0));
        assert_eq!(spec.free[8].start, 1.0);
        assert_eq!(spec.data.tasks.as_deref(), Some(Path::new("dir/../tasks")));
        assert_eq!(spec.data.search_examples, 64);
        assert_eq!((spec.data.text.as_deref(), spec.data.window), (None, 512));
        let text_only = parse("  parameters:\n    - {name: weight, bounds: [0, 2]}\n  objectives: [{metric: perplexity}]\n  data: {text: ../texts/wiki.txt, window: 128}\n").unwrap();
        assert_eq!(text_only.data.tasks, None);
        assert_eq!(
            (text_only.data.text.as_deref(), text_only.data.window),
            (Some(Path::new("dir/../texts/wiki.txt")), 128)
        );
        assert_eq!(text_only.objectives[0].metric, Metric::Perplexity);
        assert!(matches!(
            spec.optimiser,
            OptimiserSpec::Cmaes {
                evaluations: 100,
                ..
            }
        ));
    }

    #[test]
    fn the_point_is_written_into_the_recipe() {
        let spec = parse(&format!(
            "  parameters:\n    - {{name: weight, models: [a], bounds: [0, 2]}}\n    - {{name: density, models: [a], groups: [attention, mlp]}}\n    - {{name: lambda, bounds: [0.5, 1.5], points: 2}}\n{DATA}"
        ))
        .unwrap();
        let text = spec.recipe_text(&[1.25, 0.3, 0.7, 0.6, 0.9]);
        let recipe = crate::config::parse_config_with(
            &text,
            Path::new("dir"),
            &ParseOptions { check_paths: false },
        )
        .unwrap();
        let a = recipe
            .models
            .iter()
            .position(|m| m.reference == "../a")
            .unwrap();
        let lookup = |tensor, t, model| crate::config::Lookup {
            tensor,
            t,
            model,
            slice: None,
        };
        let at = |name, tensor, t, model| recipe.param(name, &lookup(tensor, t, model));
        assert_eq!(at(ParamName::Weight, "x", 0.0, Some(a)), 1.25);
        assert_eq!(
            at(
                ParamName::Density,
                "model.layers.0.self_attn.q_proj.weight",
                0.0,
                Some(a)
            ),
            0.3
        );
        assert_eq!(
            at(
                ParamName::Density,
                "model.layers.0.mlp.up_proj.weight",
                0.0,
                Some(a)
            ),
            0.7
        );
        // Outside the groups the recipe's own density stays.
        assert_eq!(
            at(
                ParamName::Density,
                "model.embed_tokens.weight",
                0.0,
                Some(a)
            ),
            0.5
        );
        assert_eq!(at(ParamName::Lambda, "x", 0.0, None), 0.6);
        assert_eq!(at(ParamName::Lambda, "x", 1.0, None), 0.9);
        assert!(text.contains("model: ../b"), "{text}");
    }

    #[test]
    fn a_slice_s_model_is_a_choice_written_into_its_source() {
        let text = "merge_method: passthrough\nslices:\n  - sources: [{model: ../a, layer_range: [0, 1]}]\n  - sources: [{model: ../b, layer_range: [1, 2]}]\nsearch:\n  layers: {choices: [../a, ../b, ../c], slices: [1]}\n  data: {tasks: t}\n";
        let spec = parse_search(text, Path::new("dir"), false).unwrap();
        assert_eq!(spec.free.len(), 1);
        assert_eq!(spec.free[0].label, "slices[1].model");
        assert_eq!(spec.start(), [1.0]);
        assert_eq!(spec.from_unit(&[0.0]), [0.0]);
        assert_eq!(spec.from_unit(&[0.5]), [1.0]);
        assert_eq!(spec.from_unit(&[1.0]), [2.0]);
        assert_eq!(spec.from_unit(&spec.to_unit(&[2.0])), [2.0]);
        let recipe = crate::config::parse_config_with(
            &spec.recipe_text(&[2.0]),
            Path::new("dir"),
            &ParseOptions { check_paths: false },
        )
        .unwrap();
        let refs: Vec<&str> = recipe.models.iter().map(|m| m.reference.as_str()).collect();
        assert_eq!(refs, ["../a", "../c"]);
        assert_eq!(spec.choice_paths()[2], Path::new("dir/../c"));
        let bad = |search: &str| {
            let text = text.replace(
                "  layers: {choices: [../a, ../b, ../c], slices: [1]}\n",
                search,
            );
            parse_search(&text, Path::new("dir"), false)
                .unwrap_err()
                .to_string()
        };
        assert!(bad("  layers: {choices: [../a]}\n")
            .contains("search.layers.choices: needs at least two"));
        assert!(bad("  layers: {choices: [../c, ../d]}\n")
            .contains("slices[0].sources[0].model: `../a` is not among"));
        assert!(bad("  layers: {choices: [../a, ../b], slices: [2]}\n")
            .contains("search.layers.slices[0]: the recipe has 2 slices"));
        let models = parse_search(
            &RECIPE.replace(
                "parameters: {lambda: 1.0}\n",
                "search:\n  layers: {choices: [a, b]}\n  data: {tasks: t}\n",
            ),
            Path::new("."),
            false,
        );
        assert!(models
            .unwrap_err()
            .to_string()
            .contains("needs a `slices:` recipe"));
    }

    #[test]
    fn bad_search_sections_name_their_key() {
        let cases = [
            (format!("  parameters: []\n{DATA}"), "search.parameters"),
            (format!("  parameters:\n    - {{name: weight, bound: [0, 1]}}\n{DATA}"), "search.parameters[0].bound"),
            (format!("  parameters:\n    - {{name: wieght}}\n{DATA}"), "search.parameters[0].name: unknown parameter `wieght`"),
            (format!("  parameters:\n    - {{name: t}}\n{DATA}"), "`ties` does not take `t`"),
            (format!("  parameters:\n    - {{name: weight}}\n{DATA}"), "search.parameters[0].bounds: missing"),
            (format!("  parameters:\n    - {{name: density, bounds: [0, 2]}}\n{DATA}"), "search.parameters[0].bounds: 0..2 leaves"),
            (format!("  parameters:\n    - {{name: density, models: [c]}}\n{DATA}"), "search.parameters[0].models[0]: `c` is not among"),
            (format!("  parameters:\n    - {{name: lambda, models: [a], bounds: [0, 1]}}\n{DATA}"), "search.parameters[0].models: `lambda` is global"),
            (format!("  parameters:\n    - {{name: density, models: [b], groups: [mlp]}}\n{DATA}"), "search.parameters[0].groups: tensors outside"),
            (format!("  parameters:\n    - {{name: density, groups: [heads]}}\n{DATA}"), "search.parameters[0].groups[0]: unknown group"),
            (format!("  parameters:\n    - {{name: alpha, bounds: [0.5, 2]}}\n{DATA}"), "needs a `mixup:` section"),
            (format!("  parameters:\n    - {{name: density}}\n    - {{name: density, models: [a]}}\n{DATA}"), "`a.density` is free twice"),
            (format!("  parameters:\n    - {{name: density}}\n    - {{name: lambda, bounds: [0.5, 1]}}\n  optimiser: {{kind: grid}}\n{DATA}"), "a grid takes one or two free parameters, not 3"),
            (format!("  parameters:\n    - {{name: density}}\n  optimiser: {{kind: pareto}}\n{DATA}"), "at least two objectives"),
            (format!("  parameters:\n    - {{name: density}}\n  optimiser: {{kind: cmaes, runs: 3}}\n{DATA}"), "search.optimiser.runs"),
            (format!("  parameters:\n    - {{name: density}}\n  objectives: [{{tasks: [a]}}, {{tasks: [b]}}]\n  optimiser: {{kind: pareto, runs: 4, evaluations: 3}}\n{DATA}"), "search.optimiser.evaluations: must be at least 4"),
            (format!("  parameters:\n    - {{name: density}}\n  optimiser: {{kind: annealing}}\n{DATA}"), "unknown optimiser `annealing`"),
            (format!("  parameters:\n    - {{name: density}}\n  objectives: [{{metric: accuracy}}]\n{DATA}"), "search.objectives[0].metric: unknown metric"),
            ("  parameters:\n    - {name: density}\n".to_string(), "search.data: missing"),
            ("  parameters:\n    - {name: density}\n  data: {window: 64}\n".to_string(), "search.data: needs the task sets (`tasks:`) or a text"),
            ("  parameters:\n    - {name: density}\n  data: {text: a.txt, window: 1}\n".to_string(), "search.data.window: must be at least 2"),
            ("  parameters:\n    - {name: density}\n  data: {text: [a.txt]}\n".to_string(), "search.data.text"),
            (format!("  parameters:\n    - {{name: density}}\n  budget: 3\n{DATA}"), "search.budget: unknown key"),
        ];
        for (search, expected) in cases {
            let message = error(&search);
            assert!(
                message.contains(expected),
                "{search}\n→ {message}\nwanted: {expected}"
            );
        }
        let no_search = parse_search(RECIPE, Path::new("."), false)
            .unwrap_err()
            .to_string();
        assert!(no_search.contains("search: missing"), "{no_search}");
        // The recipe itself is checked as `mixmerge merge` checks it.
        let bad_recipe = parse_search(
            "merge_method: tie\nmodels: []\nsearch: {}\n",
            Path::new("."),
            false,
        )
        .unwrap_err();
        assert!(bad_recipe.to_string().contains("tie"), "{bad_recipe}");
    }
}
