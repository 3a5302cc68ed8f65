//! Hugging Face hub models: telling a hub id from a path, finding one in the local cache
//! (natively), and streaming its files by range requests over any HTTP [`Transport`] (ureq
//! natively, `fetch` in the tab).

mod client;
mod http_source;
mod id;
mod integrity;
mod listing;
mod repo;
mod settings;
mod transport;

#[cfg(not(target_arch = "wasm32"))]
mod cache;
#[cfg(not(target_arch = "wasm32"))]
mod cache_writer;
#[cfg(not(target_arch = "wasm32"))]
mod open;
#[cfg(not(target_arch = "wasm32"))]
mod ureq_transport;

pub use client::HubClient;
pub use http_source::{BlockKeeper, HttpSource};
pub use id::{looks_like_hub_id, HubModel};
pub use listing::RepoFile;
pub use repo::{HubRepo, Weights};
pub use settings::HubSettings;
pub use transport::{Answer, Transport};

#[cfg(not(target_arch = "wasm32"))]
pub use cache::cached_snapshot;
#[cfg(not(target_arch = "wasm32"))]
pub use open::{open_hub_model, NativeHubSource, StreamedModel};
