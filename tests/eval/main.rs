//! Inference and the demo (`--features eval`; `demo_train` also needs `train`): the tiny models
//! against their reference logits, perplexity and generation, the demo's tasks, gates and sweeps.

#[path = "../common/mod.rs"]
mod common;
mod demo_gates;
mod demo_sweep;
mod demo_tasks;
#[cfg(feature = "train")]
mod demo_train;
#[path = "../eval_support/mod.rs"]
mod eval_support;
mod gguf;
mod hooks;
mod models;
mod search;
mod text;
