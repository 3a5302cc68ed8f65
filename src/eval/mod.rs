//! What the CLI and the page report about a model: perplexity of a text (with per-token
//! log-probs for plots), generation with tokens/s.

pub mod clock;
pub mod generate;
pub mod hooks;
pub mod perplexity;
pub mod sampling;
pub mod stream;

#[cfg(not(target_arch = "wasm32"))]
pub use generate::generate;
pub use generate::{generate_async, GenerateOptions, Generation};
pub use hooks::{EvalHooks, OnToken};
#[cfg(not(target_arch = "wasm32"))]
pub use perplexity::perplexity;
pub use perplexity::{perplexity_async, PerplexityReport, Window};
pub use sampling::Sampling;
pub use stream::TextStream;
