//! `mixmerge sweep …`: figures of what merging does, written as JSON and SVG.

use clap::Subcommand;

use super::anatomy_cmd;

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Task-vector anatomy of a base and its experts: cosine similarity and sign conflicts per
    /// tensor and layer, |τ| histograms, and one tensor's TIES and DARE masks.
    Anatomy(anatomy_cmd::AnatomyArgs),
}

pub fn run(command: SweepCommand) -> anyhow::Result<()> {
    match command {
        SweepCommand::Anatomy(args) => anatomy_cmd::run(args),
    }
}
