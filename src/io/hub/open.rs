//! Opening a hub model that is not cached: its listing, its small files fetched whole and
//! checked into a folder, its weights as [`HttpSource`]s read as the merge needs them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::client::{Failure, HubClient};
use super::http_source::HttpSource;
use super::listing::{Listing, RepoFile, LISTING_LIMIT};
use super::{HubModel, HubSettings};
use crate::error::{MergeError, Result};
use crate::io::checkpoint::{index_shard_files, Checkpoint};
use crate::io::folder_files::{PICKLE_EXTENSIONS, TOKENIZER_FILES};
use crate::io::input_source::{InputSource, LocalSource};
use crate::io::layout::INDEX_FILE;
use crate::io::native_source::NativeSource;

/// The small files worth fetching: read whole, never streamed.
const SMALL_FILE_LIMIT: u64 = 64 << 20;

/// A streamed model: its checkpoint and the folder its small files were fetched into.
pub struct StreamedModel {
    pub checkpoint: Checkpoint<LocalSource>,
    /// `config.json`, tokenizer files, the index: where the merge looks for them.
    pub folder: PathBuf,
}

/// Lists `model`'s files, fetches its small files into `folder`, and opens its weights for
/// streaming; every header is read and checked before this returns.
pub fn open_hub_model(
    model: &HubModel,
    settings: &HubSettings,
    folder: &Path,
) -> Result<StreamedModel> {
    let client = Arc::new(HubClient::new(settings.clone()));
    let refused = |failure: Failure| MergeError::HubReference {
        reference: model.label(),
        reason: failure.reason().to_string(),
    };
    let listing_url = format!(
        "{}/api/models/{}/revision/{}?blobs=true",
        settings.endpoint,
        model.repo,
        encode_revision(&model.revision)
    );
    let listing_bytes = client
        .get_whole(&listing_url, LISTING_LIMIT)
        .map_err(refused)?;
    let listing = Listing::parse(&listing_bytes).map_err(|reason| MergeError::HubReference {
        reference: model.label(),
        reason: format!("{listing_url}: {reason}"),
    })?;
    let hub = HubFiles {
        model,
        listing: &listing,
        client: &client,
    };
    for name in TOKENIZER_FILES.iter().chain(["config.json"].iter()) {
        if let Some(file) = listing.file(name) {
            let bytes = hub.fetch_whole(file)?;
            write(&folder.join(name), &bytes)?;
        }
    }
    let name = model.label();
    let checkpoint = if let Some(index_file) = listing.file(INDEX_FILE) {
        let bytes = hub.fetch_whole(index_file)?;
        write(&folder.join(INDEX_FILE), &bytes)?;
        let index_name = hub.label(INDEX_FILE);
        let mut shards = Vec::new();
        for shard in index_shard_files(&index_name, &bytes)? {
            let bad = |reason: String| MergeError::BadIndex {
                file: index_name.clone(),
                reason,
            };
            let file = listing
                .file(&shard)
                .filter(|_| !shard.contains('/'))
                .ok_or_else(|| {
                    bad(format!(
                        "names shard {shard}, which the hub does not list beside it"
                    ))
                })?;
            shards.push(InputSource::Safetensors(hub.stream(file)));
        }
        let index = Some((index_name.as_str(), bytes.as_slice()));
        pollster::block_on(Checkpoint::from_sources(name, shards, index))?
    } else {
        let source = match hub.weights_file()? {
            Weights::Safetensors(file) => InputSource::Safetensors(hub.stream(file)),
            Weights::Gguf(file) => pollster::block_on(InputSource::gguf(hub.stream(file)))?,
        };
        pollster::block_on(Checkpoint::from_sources(name, vec![source], None))?
    };
    Ok(StreamedModel {
        checkpoint,
        folder: folder.to_path_buf(),
    })
}

/// A branch name may hold `/`: the API and resolve URLs want it as `%2F`.
fn encode_revision(revision: &str) -> String {
    revision.replace('/', "%2F")
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| MergeError::io(path.display(), e))
}

enum Weights<'a> {
    Safetensors(&'a RepoFile),
    Gguf(&'a RepoFile),
}

struct HubFiles<'a> {
    model: &'a HubModel,
    listing: &'a Listing,
    client: &'a Arc<HubClient>,
}

impl HubFiles<'_> {
    /// `owner/name@revision/file`, as errors name a hub file.
    fn label(&self, file: &str) -> String {
        format!("{}/{file}", self.model.label())
    }

    /// The file at the listing's commit, so every file comes from the same one.
    fn url(&self, file: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{file}",
            self.client.settings.endpoint, self.model.repo, self.listing.commit
        )
    }

    fn fetch_whole(&self, file: &RepoFile) -> Result<Vec<u8>> {
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

    fn stream(&self, file: &RepoFile) -> NativeSource {
        NativeSource::Hub(Box::new(HttpSource::new(
            self.label(&file.name),
            self.url(&file.name),
            file.size,
            file.published.clone(),
            self.client.clone(),
        )))
    }

    /// The checkpoint file, chosen as a local folder's would be: `model.safetensors`, else the
    /// only `.safetensors`, else the only `.gguf`; pickles are refused.
    fn weights_file(&self) -> Result<Weights<'_>> {
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

fn names(files: &[&RepoFile]) -> String {
    files
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
