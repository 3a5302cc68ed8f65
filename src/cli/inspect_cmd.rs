//! `mixmerge inspect`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use mixmerge::io::{open_checkpoint, LocalSource};

pub fn run(path: &Path, all: bool) -> anyhow::Result<()> {
    let checkpoint = open_checkpoint(path)?;
    // Written with `?`, not println!, so `inspect | head` ends quietly instead of panicking.
    let mut out = std::io::stdout().lock();
    let mut by_dtype: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut parameters = 0u64;
    for location in checkpoint.tensors.values() {
        let numel = location.info.numel() as u64;
        parameters += numel;
        let entry = by_dtype.entry(location.info.dtype.to_string()).or_default();
        entry.0 += 1;
        entry.1 += numel;
    }
    writeln!(out, "{}", checkpoint.name)?;
    writeln!(
        out,
        "  {} shard(s), {} tensors, {} parameters ({:.3} B)",
        checkpoint.shards.len(),
        checkpoint.tensors.len(),
        parameters,
        parameters as f64 / 1e9
    )?;
    for (dtype, (count, numel)) in &by_dtype {
        writeln!(out, "  {dtype}: {count} tensors, {numel} parameters")?;
    }
    for (key, value) in &checkpoint.metadata {
        writeln!(out, "  metadata {key} = {value}")?;
    }
    let gguf = checkpoint.shards.first().and_then(LocalSource::as_gguf);
    if let Some(gguf) = gguf {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for tensor in gguf.tensors() {
            *kinds.entry(tensor.kind.name()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        writeln!(
            out,
            "  GGUF v{}, architecture {}, stored as {}",
            gguf.version(),
            gguf.architecture().unwrap_or("(none)"),
            kinds.join(", ")
        )?;
    }
    let shown = if all { checkpoint.order.len() } else { 20 };
    for name in checkpoint.order.iter().take(shown) {
        let location = &checkpoint.tensors[name];
        match gguf.and_then(|g| g.tensor(name)) {
            Some(tensor) => writeln!(
                out,
                "  {name}  {}  {:?}  GGUF {} `{}`",
                location.info.dtype, location.info.shape, tensor.kind, tensor.gguf_name
            )?,
            None => writeln!(
                out,
                "  {name}  {}  {:?}  shard {}",
                location.info.dtype, location.info.shape, location.shard
            )?,
        }
    }
    if checkpoint.order.len() > shown {
        writeln!(
            out,
            "  … {} more (--all lists them)",
            checkpoint.order.len() - shown
        )?;
    }
    Ok(())
}
