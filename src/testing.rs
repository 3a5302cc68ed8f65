//! What a test does when the GPU or a model file it needs is not there: with
//! `MIXMERGE_REQUIRE_GPU=1` / `MIXMERGE_REQUIRE_MODELS=1` (as `make test` sets them) it fails,
//! so CI never passes by skipping; otherwise it says SKIPPED, loudly, and passes.

/// `found`, or — when it is `None` — a failure under `MIXMERGE_REQUIRE_GPU=1` and a SKIPPED
/// notice naming `missing` otherwise.
pub fn require_gpu<T>(found: Option<T>, missing: &str) -> Option<T> {
    require("MIXMERGE_REQUIRE_GPU", found, missing)
}

/// [`require_gpu`] for a real model file, under `MIXMERGE_REQUIRE_MODELS=1`.
pub fn require_model<T>(found: Option<T>, missing: &str) -> Option<T> {
    require("MIXMERGE_REQUIRE_MODELS", found, missing)
}

fn require<T>(variable: &str, found: Option<T>, missing: &str) -> Option<T> {
    if found.is_none() {
        if std::env::var(variable).as_deref() == Ok("1") {
            panic!("{variable}=1 but {missing}");
        }
        eprintln!("\n*** SKIPPED: {missing}; {variable}=1 makes this a failure ***\n");
    }
    found
}
