//! Merge-weight search: a mergekit recipe whose chosen parameters are free, optimised against
//! task scores (CMA-ES for one objective, preference-weighted CMA-ES runs for a Pareto front,
//! a grid for one or two parameters), every point merged in memory and scored on a search
//! split, the result and its baselines on the held-out split.

pub mod cmaes;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod objective;
pub mod pareto;
pub mod pool;
pub mod run;
pub mod scorer;
pub mod session;
pub mod space;
pub mod spec;
pub mod svg;
pub mod text;

pub use run::{run_search, Evaluation, Evaluator, SearchHooks, SearchLog};
pub use session::{Scored, SearchData, SearchOutcome, SearchSession};
pub use spec::{parse_search, SearchSpec};
