//! A whole native merge: config file → checked plan → output folder, renamed into place only
//! when complete.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::card::{shard_metadata, write_folder_files};
use crate::config::{parse_config, MergeSpec, TokenizerSource};
use crate::error::{MergeError, Result};
use crate::exec::{run_native, ExecOptions, Progress};
use crate::io::{
    copy_tokenizer_files, open_model, read_model_config, Checkpoint, DirSink, HubSettings,
    LocalSource, ModelFiles, OutputFolder, ShardWriter,
};
use crate::plan::{plan_merge, MergePlan};

/// mergekit's default `--out-shard-size` (5 GB, counted in bytes).
pub const DEFAULT_SHARD_BYTES: u64 = 5_000_000_000;

/// Where the tensors are merged.
#[derive(Clone, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// WGSL kernels on this GPU; methods without a kernel fall back to the CPU per tensor.
    #[cfg(feature = "gpu")]
    Gpu(std::sync::Arc<crate::gpu::GpuContext>),
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("Cpu"),
            #[cfg(feature = "gpu")]
            Device::Gpu(context) => write!(f, "Gpu({})", context.info().name),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MergeOptions {
    pub seed: Option<u64>,
    pub max_shard_bytes: u64,
    pub overwrite: bool,
    /// fsync each output file before the folder is renamed into place.
    pub fsync: bool,
    pub exec: ExecOptions,
    pub device: Device,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            seed: None,
            max_shard_bytes: DEFAULT_SHARD_BYTES,
            overwrite: false,
            fsync: false,
            exec: ExecOptions::default(),
            device: Device::Cpu,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MergeReport {
    pub out_dir: PathBuf,
    pub tensors: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    pub seed: u64,
    pub mixup_lambda: Option<f64>,
    pub files: Vec<String>,
    pub warnings: Vec<String>,
}

/// A config and its opened, planned inputs: everything checked, nothing written yet.
pub struct PreparedMerge {
    pub spec: MergeSpec,
    pub models: Vec<Checkpoint<LocalSource>>,
    /// Each model's `config.json` and tokenizer folder (a hub model's cache snapshot, or the
    /// temporary folder its small files were fetched into).
    pub files: Vec<ModelFiles>,
    pub plan: MergePlan,
}

pub fn read_config(config_path: &Path) -> Result<MergeSpec> {
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| MergeError::io(config_path.display(), e))?;
    let folder = config_path.parent().unwrap_or(Path::new("."));
    parse_config(&text, folder)
}

/// [`prepare_with`] the hub settings of the environment.
pub fn prepare(spec: MergeSpec, seed: Option<u64>) -> Result<PreparedMerge> {
    prepare_with(spec, seed, &HubSettings::from_env())
}

/// Opens every model (local, cached or streamed from the hub) and plans the merge.
pub fn prepare_with(
    spec: MergeSpec,
    seed: Option<u64>,
    hub: &HubSettings,
) -> Result<PreparedMerge> {
    let mut models = Vec::new();
    let mut files = Vec::new();
    for model in &spec.models {
        let opened = open_model(&model.path, model.hub.as_ref(), hub)?;
        models.push(opened.checkpoint);
        files.push(opened.files);
    }
    let plan = plan_merge(&spec, &models, seed)?;
    Ok(PreparedMerge {
        spec,
        models,
        files,
        plan,
    })
}

pub fn merge_to_folder(
    prepared: &PreparedMerge,
    out_dir: &Path,
    options: &MergeOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<MergeReport> {
    let started = Instant::now();
    let PreparedMerge {
        spec,
        models,
        files,
        plan,
    } = prepared;
    let reference_folder = files[plan.reference_model].folder.clone();
    let model_config = match read_model_config(&reference_folder)? {
        Some(config) => Some(config),
        None => gguf_model_config(&models[plan.reference_model])?,
    };
    let tokenizer_model = match spec.tokenizer_source {
        TokenizerSource::Base => plan.reference_model,
        TokenizerSource::Model(id) => id,
    };
    let tokenizer_folder = files[tokenizer_model].folder.clone();
    // Made before the output folder exists: a malformed vocabulary fails the merge first.
    let (gguf_files, tokenizer_warning) =
        gguf_tokenizer_files(&models[tokenizer_model], &tokenizer_folder)?;

    let output = OutputFolder::create(out_dir, options.overwrite)?;
    let sink = if options.fsync {
        DirSink::durable(output.path())
    } else {
        DirSink::new(output.path())
    };
    let mut writer = ShardWriter::new(
        sink,
        plan.output_tensors(),
        options.max_shard_bytes,
        shard_metadata(spec, plan),
    )?;
    match &options.device {
        Device::Cpu => run_native(plan, models, &mut writer, &options.exec, cancel, progress)?,
        #[cfg(feature = "gpu")]
        Device::Gpu(context) => crate::gpu::run_gpu(
            context,
            plan,
            models,
            &mut writer,
            &options.exec,
            cancel,
            progress,
        )?,
    }
    let bytes_written = writer.bytes_written();
    let (_, layout) = writer.finish()?;

    let mut tokenizer_files = copy_tokenizer_files(&tokenizer_folder, output.path())?;
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        let path = output.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| MergeError::io(path.display(), e))
    };
    for (name, bytes) in &gguf_files {
        write(name, bytes)?;
        tokenizer_files.push(name.clone());
    }
    let files = write_folder_files(
        spec,
        plan,
        &layout,
        model_config.as_ref(),
        tokenizer_files,
        &mut write,
    )?;
    let out_dir = output.commit()?;

    Ok(MergeReport {
        out_dir,
        tensors: plan.tensors.len(),
        bytes_read: plan.input_bytes(),
        bytes_written,
        seconds: started.elapsed().as_secs_f64(),
        seed: plan.seed,
        mixup_lambda: plan.mixup_lambda,
        files,
        warnings: plan
            .warnings
            .iter()
            .cloned()
            .chain(tokenizer_warning)
            .collect(),
    })
}

/// Files to write, by name.
type NamedFiles = Vec<(String, Vec<u8>)>;

/// A GGUF tokenizer source's vocabulary as the Hugging Face files its folder lacks
/// (`tokenizer.json`, `tokenizer_config.json`, `generation_config.json`), so the merged folder
/// tokenizes in transformers. A tokenizer kind not rebuilt here is a warning: the weights merge.
fn gguf_tokenizer_files(
    model: &Checkpoint<LocalSource>,
    folder: &Path,
) -> Result<(NamedFiles, Option<String>)> {
    let Some(gguf) = model.shards.first().and_then(LocalSource::as_gguf) else {
        return Ok((Vec::new(), None));
    };
    let file = crate::io::TensorSource::name(gguf.source()).to_string();
    let tokenizer = gguf.tokenizer()?;
    let tokenizer_json = match crate::io::gguf::tokenizer_json(&file, &tokenizer) {
        Ok(json) => json,
        Err(MergeError::Unsupported(reason)) => {
            return Ok((
                Vec::new(),
                Some(format!("no tokenizer files written: {reason}")),
            ))
        }
        Err(e) => return Err(e),
    };
    let made = [
        ("tokenizer.json", tokenizer_json),
        (
            "tokenizer_config.json",
            crate::io::gguf::tokenizer_config_json(&file, &tokenizer)?,
        ),
        (
            "generation_config.json",
            crate::io::gguf::generation_config_json(&tokenizer),
        ),
    ];
    let mut files = Vec::new();
    for (name, json) in made {
        if !folder.join(name).is_file() {
            let mut bytes = serde_json::to_vec_pretty(&json).expect("JSON values serialise");
            bytes.push(b'\n');
            files.push((name.to_string(), bytes));
        }
    }
    Ok((files, None))
}

/// A GGUF input carries its hyper-parameters inside: they stand in for a missing `config.json`.
fn gguf_model_config(model: &Checkpoint<LocalSource>) -> Result<Option<serde_json::Value>> {
    match model.shards.first().and_then(LocalSource::as_gguf) {
        Some(gguf) => gguf.hf_config()?.to_config_json().map(Some),
        None => Ok(None),
    }
}
