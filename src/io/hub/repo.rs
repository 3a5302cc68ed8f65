//! One hub model at one commit, over any [`Transport`]: its listing, its small files fetched
//! whole and checked, its weights chosen as a local folder's would be and opened for streaming.

use std::sync::Arc;

use super::client::HubClient;
use super::http_source::HttpSource;
use super::listing::{Listing, RepoFile, LISTING_LIMIT};
use super::transport::{Failure, Transport};
use super::HubModel;
use crate::error::{MergeError, Result};
use crate::io::folder_files::{PICKLE_EXTENSIONS, TOKENIZER_FILES};
use crate::io::layout::INDEX_FILE;

/// The small files worth fetching: read whole, never streamed.
const SMALL_FILE_LIMIT: u64 = 64 << 20;

/// Where a model's weights are.
pub enum Weights<'a> {
    /// `model.safetensors.index.json`, unread: [`HubRepo::shards`] reads the names it gives.
    Sharded(&'a RepoFile),
    Safetensors(&'a RepoFile),
    Gguf(&'a RepoFile),
}

/// A listed model: every file URL is at the listing's commit, so all come from the same one.
pub struct HubRepo<T> {
    pub model: HubModel,
    pub listing: Listing,
    client: Arc<HubClient<T>>,
}

impl<T: Transport> HubRepo<T> {
    /// Lists `model`'s files at its revision (one request).
    pub async fn list(model: &HubModel, client: Arc<HubClient<T>>) -> Result<HubRepo<T>> {
        let listing_url = format!(
            "{}/api/models/{}/revision/{}?blobs=true",
            client.settings.endpoint,
            model.repo,
            encode_revision(&model.revision)
        );
        let refused = |reason: String| MergeError::HubReference {
            reference: model.label(),
            reason,
        };
        let bytes = client
            .get_whole(&listing_url, LISTING_LIMIT)
            .await
            .map_err(|failure: Failure| refused(failure.reason().to_string()))?;
        let listing =
            Listing::parse(&bytes).map_err(|reason| refused(format!("{listing_url}: {reason}")))?;
        Ok(HubRepo {
            model: model.clone(),
            listing,
            client,
        })
    }

    /// `owner/name@revision/file`, as errors name a hub file.
    pub fn label(&self, file: &str) -> String {
        format!("{}/{file}", self.model.label())
    }

    fn url(&self, file: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{file}",
            self.client.settings.endpoint, self.model.repo, self.listing.commit
        )
    }

    /// `config.json` and the tokenizer and generation files the model has.
    pub fn small_files(&self) -> Vec<&RepoFile> {
        TOKENIZER_FILES
            .iter()
            .chain(["config.json"].iter())
            .filter_map(|name| self.listing.file(name))
            .collect()
    }

    /// A small file's bytes, checked against the listing's size and published hash.
    pub async fn fetch_whole(&self, file: &RepoFile) -> Result<Vec<u8>> {
        let label = self.label(&file.name);
        let error = |reason: String| MergeError::io(&label, std::io::Error::other(reason));
        if file.size > SMALL_FILE_LIMIT {
            return Err(error(format!(
                "{} bytes is too big for a metadata file",
                file.size
            )));
        }
        let bytes = self
            .client
            .get_whole(&self.url(&file.name), SMALL_FILE_LIMIT)
            .await
            .map_err(|failure| error(failure.reason().to_string()))?;
        if bytes.len() as u64 != file.size {
            return Err(error(format!(
                "the hub lists {} bytes, {} came: it changed or is truncated",
                file.size,
                bytes.len()
            )));
        }
        if let Some(reason) = file.published.mismatch(&bytes) {
            return Err(error(reason));
        }
        Ok(bytes)
    }

    /// A weights file, read by range requests as the merge asks for its bytes.
    pub fn stream(&self, file: &RepoFile) -> HttpSource<T> {
        HttpSource::new(
            self.label(&file.name),
            self.url(&file.name),
            file.size,
            file.published.clone(),
            self.client.clone(),
        )
    }

    /// The shards `index_bytes` (the fetched index) names, each listed beside it.
    pub fn shards(&self, index_bytes: &[u8]) -> Result<Vec<&RepoFile>> {
        let index_name = self.label(INDEX_FILE);
        let mut shards = Vec::new();
        for shard in crate::io::index_shard_files(&index_name, index_bytes)? {
            let file = self
                .listing
                .file(&shard)
                .filter(|_| !shard.contains('/'))
                .ok_or_else(|| MergeError::BadIndex {
                    file: index_name.clone(),
                    reason: format!("names shard {shard}, which the hub does not list beside it"),
                })?;
            shards.push(file);
        }
        Ok(shards)
    }

    /// The checkpoint's files, chosen as a local folder's would be: the index, else
    /// `model.safetensors`, else the only `.safetensors`, else the only `.gguf`; pickles are
    /// refused.
    pub fn weights(&self) -> Result<Weights<'_>> {
        if let Some(index) = self.listing.file(INDEX_FILE) {
            return Ok(Weights::Sharded(index));
        }
        if let Some(file) = self.listing.file("model.safetensors") {
            return Ok(Weights::Safetensors(file));
        }
        let label = self.model.label();
        let safetensors = self.listing.top_level_with_extension("safetensors");
        match safetensors.as_slice() {
            [only] => return Ok(Weights::Safetensors(only)),
            [] => {}
            several => {
                return Err(MergeError::BadIndex {
                    file: self.label(INDEX_FILE),
                    reason: format!(
                        "missing, and the hub lists several .safetensors files ({}); name one",
                        names(several)
                    ),
                })
            }
        }
        let gguf = self.listing.top_level_with_extension("gguf");
        match gguf.as_slice() {
            [only] => return Ok(Weights::Gguf(only)),
            [] => {}
            several => {
                return Err(MergeError::ModelNotFound {
                    path: format!(
                        "{label} (several .gguf files: {}; name one)",
                        names(several)
                    ),
                })
            }
        }
        for ext in PICKLE_EXTENSIONS {
            if let Some(pickle) = self.listing.top_level_with_extension(ext).first() {
                return Err(MergeError::PickleRefused {
                    file: self.label(&pickle.name),
                });
            }
        }
        Err(MergeError::ModelNotFound { path: label })
    }
}

/// A branch name may hold `/`: the API and resolve URLs want it as `%2F`.
fn encode_revision(revision: &str) -> String {
    revision.replace('/', "%2F")
}

fn names(files: &[&RepoFile]) -> String {
    files
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
