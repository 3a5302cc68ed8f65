//! mixmerge: merge LLM checkpoints with mergekit recipes, streaming, natively and in the browser.

pub mod config;
pub mod dtype;
pub mod error;
pub mod io;
pub mod merge;

pub use error::{MergeError, Result};
