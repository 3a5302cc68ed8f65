//! `mixmerge inspect`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use mixmerge::io::open_checkpoint;

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
    let shown = if all { checkpoint.order.len() } else { 20 };
    for name in checkpoint.order.iter().take(shown) {
        let location = &checkpoint.tensors[name];
        writeln!(
            out,
            "  {name}  {}  {:?}  shard {}",
            location.info.dtype, location.info.shape, location.shard
        )?;
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
