//! The GPU path's integration tests (`--features gpu`; `make test` runs them on lavapipe with
//! `MIXMERGE_REQUIRE_GPU=1`, where a missing adapter fails): every kernel against its CPU twin.
#![cfg(feature = "gpu")]

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod geometric;
mod mixed_dtypes;
mod read_ahead;
mod residency;
mod selection;
mod shaders_validate;
mod vs_cpu;
