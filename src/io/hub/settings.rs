//! Where hub models come from, as the `huggingface_hub` library reads it from the environment.

use std::path::PathBuf;
use std::time::Duration;

/// The hub endpoint, credentials, cache and retry policy of one run.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// `https://huggingface.co`, or a mirror (`HF_ENDPOINT`); no trailing slash.
    pub endpoint: String,
    /// Bearer token for gated and private models (`HF_TOKEN`); sent to the endpoint only.
    pub token: Option<String>,
    /// The cache searched first (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`).
    pub cache: Option<PathBuf>,
    /// Cached models only (`HF_HUB_OFFLINE`).
    pub offline: bool,
    /// Tries of one request before its error is final (429, 5xx, a dropped connection).
    pub attempts: u32,
    /// The wait before the first retry; each later one doubles it.
    pub first_backoff: Duration,
    /// Keep what is streamed in `cache` (`--cache`).
    pub keep_streamed: bool,
}

/// Values of `HF_HUB_OFFLINE` that mean on, as `huggingface_hub` reads them.
const TRUE_VALUES: [&str; 4] = ["1", "true", "yes", "on"];

impl HubSettings {
    /// The settings the environment gives, as `huggingface_hub` reads them.
    pub fn from_env() -> HubSettings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".to_string());
        HubSettings {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: var("HF_TOKEN").or_else(|| var("HUGGING_FACE_HUB_TOKEN")),
            cache: default_cache(&var),
            offline: var("HF_HUB_OFFLINE")
                .is_some_and(|v| TRUE_VALUES.contains(&v.to_ascii_lowercase().as_str())),
            attempts: 6,
            first_backoff: Duration::from_millis(200),
            keep_streamed: false,
        }
    }

    /// No cache, no token, the given endpoint: what tests start from.
    pub fn for_endpoint(endpoint: &str) -> HubSettings {
        HubSettings {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: None,
            cache: None,
            offline: false,
            attempts: 6,
            first_backoff: Duration::from_millis(20),
            keep_streamed: false,
        }
    }
}

fn default_cache(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(cache) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
        return Some(PathBuf::from(cache));
    }
    if let Some(home) = var("HF_HOME") {
        return Some(PathBuf::from(home).join("hub"));
    }
    let xdg = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(xdg.join("huggingface").join("hub"))
}
