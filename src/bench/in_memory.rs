//! Merges of synthetic checkpoints held in memory, output discarded: the CPU cost of a method
//! with the disk, the page cache and system calls taken out (`benches/cpu_merge.rs`). The
//! end-to-end `mixmerge bench` measures the same merges against the I/O floor.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use super::runner::bench_config;
use super::shapes::ModelShape;
use super::synth::synthetic_checkpoint_bytes;
use crate::config::{parse_config_with, ParseOptions};
use crate::dtype::DType;
use crate::error::Result;
use crate::exec::{run_native, ExecOptions};
use crate::io::{Checkpoint, MemorySource, ShardSink, ShardWriter, TensorSource};
use crate::plan::plan_merge;

/// One method's timing.
#[derive(Debug, Clone)]
pub struct InMemoryRow {
    pub method: String,
    /// Median over the runs.
    pub seconds: f64,
    pub runs: usize,
    /// Elements of the merged model.
    pub elements: usize,
    /// Bytes of every input read once plus the output.
    pub bytes: u64,
}

impl InMemoryRow {
    pub fn nanoseconds_per_element(&self) -> f64 {
        self.seconds * 1e9 / self.elements as f64
    }

    pub fn gigabytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.seconds / 1e9
    }
}

/// The base and `variants` fine-tunes of `shape` in bf16, in memory, named like folders.
pub struct InMemoryModels {
    names: Vec<PathBuf>,
    files: Vec<Arc<MemorySource>>,
}

impl InMemoryModels {
    pub fn synthesize(shape: &ModelShape, variants: u32) -> Result<Self> {
        let mut names = Vec::new();
        let mut files = Vec::new();
        for variant in 0..=variants {
            let name = format!("{}-{variant}", shape.name);
            let bytes = synthetic_checkpoint_bytes(shape, DType::BF16, variant)?;
            files.push(Arc::new(MemorySource::new(name.clone(), bytes)));
            names.push(PathBuf::from(name));
        }
        Ok(InMemoryModels { names, files })
    }

    /// Times `method` over these models: `runs` merges on `threads` workers, median wall.
    pub fn time(&self, method: &str, runs: usize, threads: usize) -> Result<InMemoryRow> {
        let config = bench_config(method, &self.names[0], &self.names[1..])?;
        let no_files = ParseOptions { check_paths: false };
        let spec = parse_config_with(&config, Path::new(""), &no_files)?;
        let models = spec
            .models
            .iter()
            .map(|model| {
                let file = self.names.iter().position(|n| *n == model.path);
                let source = &self.files[file.expect("the config names these models")];
                pollster::block_on(Checkpoint::from_sources(
                    model.path.display().to_string(),
                    vec![Shared(Arc::clone(source))],
                    None,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let plan = plan_merge(&spec, &models, None)?;
        let options = ExecOptions {
            threads,
            ..ExecOptions::default()
        };
        let mut seconds = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let mut writer =
                ShardWriter::new(Discard, plan.output_tensors(), u64::MAX, Default::default())?;
            let started = Instant::now();
            run_native(
                &plan,
                &models,
                &mut writer,
                &options,
                &AtomicBool::new(false),
                &mut |_| {},
            )?;
            writer.finish()?;
            seconds.push(started.elapsed().as_secs_f64());
        }
        seconds.sort_by(f64::total_cmp);
        Ok(InMemoryRow {
            method: method.to_string(),
            seconds: seconds[seconds.len() / 2],
            runs: seconds.len(),
            elements: plan.tensors.iter().map(|t| t.numel()).sum(),
            bytes: plan.input_bytes() + plan.output_bytes(),
        })
    }
}

/// Drops every byte: the timing stops at the encoded output.
struct Discard;

impl ShardSink for Discard {
    fn begin_file(&mut self, _name: &str) -> Result<()> {
        Ok(())
    }

    fn write(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }

    fn end_file(&mut self) -> Result<()> {
        Ok(())
    }
}

/// One in-memory file read by every merge without copying it per merge.
struct Shared(Arc<MemorySource>);

impl TensorSource for Shared {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn size(&self) -> u64 {
        self.0.size()
    }

    async fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.0.read_range(offset, buf).await
    }

    // Merges decode from memory in place, as they do from mapped files.
    fn view(&self, offset: u64, len: usize) -> Option<&[u8]> {
        self.0.view(offset, len)
    }
}
