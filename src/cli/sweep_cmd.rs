//! `mixmerge sweep …`: figures of what merging does, written as JSON and SVG.

use clap::Subcommand;

use super::anatomy_cmd;
#[cfg(feature = "eval")]
use super::path_plane_cmd;

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Task-vector anatomy of a base and its experts: cosine similarity and sign conflicts per
    /// tensor and layer, |τ| histograms, and one tensor's TIES and DARE masks.
    Anatomy(anatomy_cmd::AnatomyArgs),
    /// Scores along λ ∈ [0, 1] from A to B for several methods, with M³ samples (burn inference).
    #[cfg(feature = "eval")]
    Path(path_plane_cmd::PathArgs),
    /// Loss over the plane base + x·(A − base) + y·(B − base), merges marked (burn inference).
    #[cfg(feature = "eval")]
    Plane(path_plane_cmd::PlaneArgs),
}

pub fn run(command: SweepCommand) -> anyhow::Result<()> {
    match command {
        SweepCommand::Anatomy(args) => anatomy_cmd::run(args),
        #[cfg(feature = "eval")]
        SweepCommand::Path(args) => path_plane_cmd::run_path_cmd(args),
        #[cfg(feature = "eval")]
        SweepCommand::Plane(args) => path_plane_cmd::run_plane_cmd(args),
    }
}
