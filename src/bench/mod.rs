//! `mixmerge bench`: synthetic Llama-shaped checkpoints, merges timed against the I/O floor
//! measured in the same run, peak memory of each merge process.

mod evict;
mod floor;
mod in_memory;
mod runner;
pub mod shapes;
pub mod synth;

pub use evict::evict_from_page_cache;
#[cfg(target_os = "linux")]
pub use evict::resident_pages;
pub use in_memory::{InMemoryModels, InMemoryRow};
pub use runner::{run_bench, BenchOptions, BenchRow};
pub use shapes::{ModelShape, SHAPES};
pub use synth::write_synthetic_model;
