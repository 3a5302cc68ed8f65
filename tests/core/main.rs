//! The merge engine's integration tests (no optional feature): configs, inputs good and bad,
//! every method against mergekit and its properties, GGUF, outputs and the repository's shape.

mod bad_inputs;
#[path = "../common/mod.rs"]
mod common;
mod config;
mod demo_recipes;
mod end_to_end;
mod gguf;
mod gguf_bad_inputs;
mod gguf_smollm2;
mod gpu_layers;
mod hub;
mod io_bad_inputs;
mod io_roundtrip;
mod mergekit_examples;
mod mergekit_parity;
mod methods_geometric;
mod methods_gta;
mod page_cache_eviction;
mod simd_levels;
mod viz_anatomy;
