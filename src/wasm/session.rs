//! A whole browser merge: YAML + picked folders → checked plan → output files through a sink,
//! writing the same files with the same bytes as `native::merge_to_folder`.

use std::path::Path;

use serde::Serialize;

use super::executor::{run, DeviceChoice, DeviceReport};
use super::js_sink::JsSink;
use super::model_folder::{file_name, ModelFolder};
use super::page_file::PageFile;
use crate::card::{format_lambda, shard_metadata, write_folder_files};
use crate::config::{parse_config_with, MergeSpec, ParseOptions, TokenizerSource};
use crate::error::{MergeError, Result};
use crate::exec::ExecHooks;
use crate::io::{plan_shards, Checkpoint, ShardSink, ShardWriter, TensorSource};
use crate::plan::{plan_merge, MergePlan};

/// Tokenizer files are copied in reads of this size, so no file is ever whole in memory.
const COPY_CHUNK: usize = 8 << 20;

/// A config and its opened, planned inputs: everything checked, nothing written yet.
pub struct PreparedMerge {
    pub spec: MergeSpec,
    pub folders: Vec<ModelFolder>,
    pub models: Vec<Checkpoint<PageFile>>,
    pub plan: MergePlan,
}

/// What `validate` shows before any work starts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    pub method: String,
    pub models: Vec<String>,
    pub base: Option<String>,
    pub tensors: usize,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub out_dtype: String,
    pub seed: u64,
    /// λ with every digit (as written into the shards' metadata).
    pub mixup_lambda: Option<String>,
    pub shards: usize,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeReport {
    pub tensors: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub seed: u64,
    pub mixup_lambda: Option<String>,
    pub files: Vec<String>,
    pub warnings: Vec<String>,
    pub device: DeviceReport,
}

/// Parses `yaml` (model references are the names of picked folders), opens every model it
/// names and plans the merge: every shape, dtype and name check happens here.
pub async fn prepare(
    yaml: &str,
    picked: Vec<ModelFolder>,
    seed: Option<u64>,
) -> Result<PreparedMerge> {
    let options = ParseOptions { check_paths: false };
    let spec = parse_config_with(yaml, Path::new(""), &options)?;
    let mut folders = Vec::new();
    for model in &spec.models {
        let path = model.path.to_string_lossy();
        // A picked folder carries only its name: `../addition` (relative to a recipe file)
        // also finds the folder named `addition`.
        let last = model.path.file_name().and_then(|n| n.to_str());
        let folder = picked
            .iter()
            .find(|f| f.name == path || f.name == model.reference)
            .or_else(|| picked.iter().find(|f| Some(f.name.as_str()) == last))
            .ok_or_else(|| {
                let names: Vec<&str> = picked.iter().map(|f| f.name.as_str()).collect();
                MergeError::config(
                    "models",
                    format!(
                        "`{}` is not one of the picked models ({}); pick its folder or rename a slot",
                        model.reference,
                        if names.is_empty() {
                            "none yet".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                )
            })?;
        folders.push(folder.clone());
    }
    let mut models = Vec::new();
    for folder in &folders {
        models.push(folder.open().await?);
    }
    let plan = plan_merge(&spec, &models, seed)?;
    Ok(PreparedMerge {
        spec,
        folders,
        models,
        plan,
    })
}

impl PreparedMerge {
    pub fn summary(&self, max_shard_bytes: u64) -> PlanSummary {
        let (spec, plan) = (&self.spec, &self.plan);
        PlanSummary {
            method: spec.method.key().to_string(),
            models: spec.models.iter().map(|m| m.reference.clone()).collect(),
            base: spec.base.map(|b| spec.models[b].reference.clone()),
            tensors: plan.tensors.len(),
            input_bytes: plan.input_bytes(),
            output_bytes: plan.output_bytes(),
            out_dtype: plan.out_dtype.torch_name().to_string(),
            seed: plan.seed,
            mixup_lambda: plan.mixup_lambda.map(format_lambda),
            shards: plan_shards(&plan.output_tensors(), max_shard_bytes)
                .files
                .len(),
            warnings: plan.warnings.clone(),
        }
    }

    /// Writes the output folder's files into `sink`: shards (and index), config.json, the
    /// tokenizer files, mergekit_config.yml and README.md, as the native CLI does.
    pub async fn write<H: ExecHooks>(
        &self,
        mut sink: JsSink,
        max_shard_bytes: u64,
        chunk_elements: usize,
        device: DeviceChoice,
        hooks: &mut H,
    ) -> Result<MergeReport> {
        let PreparedMerge {
            spec,
            folders,
            models,
            plan,
        } = self;
        let reference = &folders[plan.reference_model];
        let model_config = reference.model_config().await?;
        let tokenizer_folder = match spec.tokenizer_source {
            TokenizerSource::Base => reference,
            TokenizerSource::Model(id) => &folders[id],
        };

        let mut writer = ShardWriter::new(
            sink.clone(),
            plan.output_tensors(),
            max_shard_bytes,
            shard_metadata(spec, plan),
        )?;
        let device = run(plan, models, &mut writer, chunk_elements, device, hooks).await?;
        let bytes_written = writer.bytes_written();
        let (_, layout) = writer.finish()?;
        sink.flush().await?;

        let mut tokenizer_files = Vec::new();
        for source in tokenizer_folder.tokenizer_files() {
            let name = file_name(source.name());
            copy_file(source, name, &mut sink).await?;
            tokenizer_files.push(name.to_string());
        }
        let files = write_folder_files(
            spec,
            plan,
            &layout,
            model_config.as_ref(),
            tokenizer_files,
            &mut |name, bytes| sink.write_file(name, bytes),
        )?;
        sink.flush().await?;

        Ok(MergeReport {
            tensors: plan.tensors.len(),
            bytes_read: plan.input_bytes(),
            bytes_written,
            seed: plan.seed,
            mixup_lambda: plan.mixup_lambda.map(format_lambda),
            files,
            warnings: plan.warnings.clone(),
            device,
        })
    }
}

/// Streams `source` into a new file `name` of the sink.
async fn copy_file(source: &PageFile, name: &str, sink: &mut JsSink) -> Result<()> {
    sink.begin_file(name)?;
    let mut buf = Vec::new();
    let mut offset = 0u64;
    while offset < source.size() {
        let len = (source.size() - offset).min(COPY_CHUNK as u64) as usize;
        buf.resize(len, 0);
        source.read_range(offset, &mut buf).await?;
        sink.write(&buf)?;
        sink.flush().await?;
        offset += len as u64;
    }
    sink.end_file()
}
