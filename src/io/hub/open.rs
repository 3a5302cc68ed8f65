//! Opening a hub model that is not cached, natively: its small files fetched into a folder, its
//! weights as [`HttpSource`]s read as the merge needs them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cache_writer::CacheWriter;
use super::client::HubClient;
use super::listing::RepoFile;
use super::repo::{HubRepo, Weights};
use super::ureq_transport::UreqTransport;
use super::{HttpSource, HubModel, HubSettings};
use crate::error::{MergeError, Result};
use crate::io::checkpoint::Checkpoint;
use crate::io::input_source::{InputSource, LocalSource};
use crate::io::layout::INDEX_FILE;
use crate::io::native_source::NativeSource;

/// A hub file streamed by a native run.
pub type NativeHubSource = HttpSource<UreqTransport>;

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
    let client = Arc::new(HubClient::new(UreqTransport::default(), settings.clone()));
    pollster::block_on(async {
        let repo = HubRepo::list(model, client).await?;
        let cache = match (&settings.cache, settings.keep_streamed) {
            (Some(cache), true) => Some(CacheWriter::new(cache, model, &repo.listing.commit)?),
            _ => None,
        };
        for file in repo.small_files() {
            let bytes = fetch_kept(&repo, cache.as_ref(), file).await?;
            write(&folder.join(&file.name), &bytes)?;
        }
        let stream = |file: &RepoFile| {
            let keeper = cache
                .as_ref()
                .and_then(|c| c.keeper(&file.name, &file.published));
            NativeSource::Hub(Box::new(repo.stream(file).keeping(keeper)))
        };
        let name = model.label();
        let checkpoint = match repo.weights()? {
            Weights::Sharded(index_file) => {
                let bytes = fetch_kept(&repo, cache.as_ref(), index_file).await?;
                write(&folder.join(INDEX_FILE), &bytes)?;
                let shards = repo.shards(&bytes)?;
                let shards = shards
                    .into_iter()
                    .map(|file| InputSource::Safetensors(stream(file)))
                    .collect();
                let index_name = repo.label(INDEX_FILE);
                let index = Some((index_name.as_str(), bytes.as_slice()));
                Checkpoint::from_sources(name, shards, index).await?
            }
            Weights::Safetensors(file) => {
                let source = InputSource::Safetensors(stream(file));
                Checkpoint::from_sources(name, vec![source], None).await?
            }
            Weights::Gguf(file) => {
                let source = InputSource::gguf(stream(file)).await?;
                Checkpoint::from_sources(name, vec![source], None).await?
            }
        };
        Ok(StreamedModel {
            checkpoint,
            folder: folder.to_path_buf(),
        })
    })
}

/// A small file's checked bytes, kept in the cache when asked.
async fn fetch_kept(
    repo: &HubRepo<UreqTransport>,
    cache: Option<&CacheWriter>,
    file: &RepoFile,
) -> Result<Vec<u8>> {
    let bytes = repo.fetch_whole(file).await?;
    if let Some(cache) = cache {
        cache.keep_whole(&file.name, &file.published, &bytes)?;
    }
    Ok(bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| MergeError::io(path.display(), e))
}
