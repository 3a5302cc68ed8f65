//! Pure CPU merge math, one file per method family.

pub mod catalog;
