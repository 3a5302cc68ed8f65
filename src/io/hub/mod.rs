//! Hugging Face hub models: telling a hub id from a path, and (natively) finding one in the
//! local cache or streaming its files by range requests.

mod id;

#[cfg(not(target_arch = "wasm32"))]
mod cache;
#[cfg(not(target_arch = "wasm32"))]
mod client;
#[cfg(not(target_arch = "wasm32"))]
mod http_source;
#[cfg(not(target_arch = "wasm32"))]
mod integrity;
#[cfg(not(target_arch = "wasm32"))]
mod listing;
#[cfg(not(target_arch = "wasm32"))]
mod open;
#[cfg(not(target_arch = "wasm32"))]
mod settings;

pub use id::{looks_like_hub_id, HubModel};

#[cfg(not(target_arch = "wasm32"))]
pub use cache::cached_snapshot;
#[cfg(not(target_arch = "wasm32"))]
pub use http_source::HttpSource;
#[cfg(not(target_arch = "wasm32"))]
pub use open::{open_hub_model, StreamedModel};
#[cfg(not(target_arch = "wasm32"))]
pub use settings::HubSettings;
