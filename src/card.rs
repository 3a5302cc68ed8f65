//! What the output folder says about itself: safetensors metadata, the rewritten config.json and
//! the README.md model card. Platform-neutral so the browser writes the same bytes.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::MergeSpec;
use crate::error::Result;
use crate::io::{ShardLayout, INDEX_FILE};
use crate::plan::MergePlan;

/// `__metadata__` of every output shard.
pub fn shard_metadata(spec: &MergeSpec, plan: &MergePlan) -> BTreeMap<String, String> {
    let mut meta = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (
            "mixmerge_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("merge_method".to_string(), spec.method.key().to_string()),
        ("merge_seed".to_string(), plan.seed.to_string()),
    ]);
    if let Some(lambda) = plan.mixup_lambda {
        meta.insert("mixup_lambda".to_string(), format_lambda(lambda));
    }
    meta
}

/// λ with every digit needed to reproduce it.
pub fn format_lambda(lambda: f64) -> String {
    format!("{lambda:?}")
}

/// The reference model's config.json with the output dtype and, for frankenmerges, the new
/// layer count.
pub fn rewrite_model_config(config: &Value, plan: &MergePlan) -> Value {
    let mut config = config.clone();
    if let Some(object) = config.as_object_mut() {
        object.insert(
            "torch_dtype".to_string(),
            Value::String(plan.out_dtype.torch_name().to_string()),
        );
        if let Some(layers) = plan.num_hidden_layers {
            for key in ["num_hidden_layers", "n_layer", "num_layers"] {
                if object.contains_key(key) {
                    object.insert(key.to_string(), Value::from(layers));
                }
            }
        }
    }
    config
}

/// The hub's page of a model, at its revision unless that is `main`.
fn hub_link(model: &crate::config::ModelRef) -> String {
    match &model.hub {
        Some(hub) if hub.revision == "main" => {
            format!("[{}](https://huggingface.co/{})", hub.repo, hub.repo)
        }
        Some(hub) => format!(
            "[{}](https://huggingface.co/{}/tree/{})",
            hub.label(),
            hub.repo,
            hub.revision
        ),
        None => format!("`{}`", model.reference),
    }
}

/// README.md of the output folder, in the hub's conventions for merges: front matter naming
/// every input with a hub id as `base_model`, then the method, the models and the recipe.
pub fn model_card(spec: &MergeSpec, plan: &MergePlan, files: &[String]) -> String {
    let mut card = String::from("---\n");
    let mut hub_ids: Vec<&str> = spec
        .models
        .iter()
        .filter_map(|m| m.hub.as_ref().map(|h| h.repo.as_str()))
        .collect();
    hub_ids.dedup();
    if !hub_ids.is_empty() {
        card.push_str("base_model:\n");
        for id in hub_ids {
            card.push_str(&format!("- {id}\n"));
        }
    }
    card.push_str("library_name: transformers\ntags:\n- mergekit\n- merge\n- mixmerge\n");
    card.push_str("base_model_relation: merge\n---\n\n# Merged model\n\n");
    card.push_str(&format!(
        "A merge of pre-trained language models, made by mixmerge {} from a mergekit recipe.\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    card.push_str("## Merge Details\n\n### Merge Method\n\n");
    let key = spec.method.key();
    let method = match spec.method.descriptor().paper {
        Some(paper) => format!("`{key}` ([{}]({}))", paper.name, paper.url),
        None => format!("`{key}`"),
    };
    match spec.base {
        Some(base) => card.push_str(&format!(
            "Merged with the {method} method, with {} as the base.\n",
            hub_link(&spec.models[base])
        )),
        None => card.push_str(&format!("Merged with the {method} method.\n")),
    }
    if let (Some(lambda), Some(mixup)) = (plan.mixup_lambda, spec.mixup) {
        card.push_str(&format!(
            "\nM³ mixup: λ = {} drawn from Beta({}, {}); the two models were weighted λ and 1 − λ.\n",
            format_lambda(lambda),
            mixup.alpha,
            mixup.alpha
        ));
    }
    card.push_str("\n### Models Merged\n\n");
    for (id, model) in spec.models.iter().enumerate() {
        if Some(id) != spec.base {
            card.push_str(&format!("* {}\n", hub_link(model)));
        }
    }
    card.push_str("\n### Configuration\n\n```yaml\n");
    card.push_str(spec.source_text.trim_end());
    card.push_str("\n```\n\n### Reproducing it\n\n");
    card.push_str(&format!(
        "Seed {}; output dtype {}; {} tensors. The same recipe and seed give the same bytes, natively and in the browser.\n",
        plan.seed,
        plan.out_dtype.torch_name(),
        plan.tensors.len()
    ));
    for warning in &plan.warnings {
        card.push_str(&format!("\nNote: {warning}\n"));
    }
    card.push_str("\n### Files\n\n");
    for file in files {
        card.push_str(&format!("- {file}\n"));
    }
    card
}

/// Writes the files beside the shards — config.json (rewritten), mergekit_config.yml and
/// README.md — and returns the whole folder's file list, the same natively and in the browser.
/// `tokenizer_files` are the names already copied from the tokenizer source.
pub fn write_folder_files(
    spec: &MergeSpec,
    plan: &MergePlan,
    layout: &ShardLayout,
    model_config: Option<&Value>,
    tokenizer_files: Vec<String>,
    write: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
) -> Result<Vec<String>> {
    let mut files = layout.files.clone();
    if layout.files.len() > 1 {
        files.push(INDEX_FILE.to_string());
    }
    if let Some(config) = model_config {
        let config = rewrite_model_config(config, plan);
        let text = serde_json::to_string_pretty(&config).expect("JSON value serialises");
        write("config.json", text.as_bytes())?;
        files.push("config.json".to_string());
    }
    files.extend(tokenizer_files);
    write("mergekit_config.yml", spec.source_text.as_bytes())?;
    files.push("mergekit_config.yml".to_string());
    files.push("README.md".to_string());
    write("README.md", model_card(spec, plan, &files).as_bytes())?;
    Ok(files)
}
