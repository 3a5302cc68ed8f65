//! Pictures of what merging does, computed without burn: usable natively and in the merge bundle.

pub mod anatomy;
