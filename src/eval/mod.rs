//! What the CLI and the page report about a model: perplexity of a text (with per-token
//! log-probs for plots), generation with tokens/s.

pub mod clock;
pub mod generate;
pub mod perplexity;
pub mod sampling;

pub use generate::{generate, GenerateOptions, Generation};
pub use perplexity::{perplexity, PerplexityReport, Window};
pub use sampling::Sampling;
