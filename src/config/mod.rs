//! mergekit YAML → validated [`MergeSpec`].

pub mod spec;

pub use spec::*;
