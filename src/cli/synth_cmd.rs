//! `mixmerge synth`.

use std::path::Path;

use anyhow::Context;
use mixmerge::bench::{write_synthetic_model, ModelShape};
use mixmerge::dtype::DType;

pub fn run(
    out_dir: &Path,
    shape: &str,
    variant: u32,
    dtype: &str,
    shard_size: u64,
) -> anyhow::Result<()> {
    let shape = ModelShape::by_name(shape).with_context(|| format!("unknown shape `{shape}`"))?;
    let dtype = DType::from_config_name(dtype)
        .with_context(|| format!("unknown dtype `{dtype}` (float32, float16, bfloat16)"))?;
    write_synthetic_model(out_dir, &shape, dtype, variant, shard_size)?;
    println!(
        "wrote {} ({} variant {variant}, {:.1} M parameters, {})",
        out_dir.display(),
        shape.name,
        shape.parameter_count() as f64 / 1e6,
        dtype.torch_name()
    );
    Ok(())
}
