//! The demo experts: procedurally generated tasks, a character vocabulary, training a small
//! Llama and its experts with burn (`train` feature), and scoring any model on the tasks.

#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod score;
pub mod tasks;
#[cfg(feature = "train")]
pub mod train;
pub mod vocab;

pub use score::{score_task, TaskScore};
pub use tasks::{DemoTask, TaskExample};
pub use vocab::DemoShape;
