//! The demo experts: procedurally generated tasks, a character vocabulary, training a small
//! Llama and its experts with burn (`train` feature), and scoring any model on the tasks.

#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod score;
pub mod sweep;
pub mod tasks;
#[cfg(feature = "train")]
pub mod train;
pub mod vocab;

pub use score::{score_task, score_task_async, TaskScore, TaskSet};
pub use tasks::{DemoTask, TaskExample};
pub use vocab::DemoShape;
