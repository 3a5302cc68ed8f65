//! mixmerge: merge LLM checkpoints with mergekit recipes, streaming, natively and in the browser.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod card;
pub mod config;
#[cfg(feature = "eval")]
pub mod demo;
pub mod dtype;
pub mod error;
#[cfg(feature = "eval")]
pub mod eval;
pub mod exec;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod io;
pub mod merge;
#[cfg(feature = "eval")]
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod plan;
#[cfg(feature = "eval")]
pub mod search;
pub mod testing;
pub mod viz;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{MergeError, Result};
