//! `--cache`: what a run streams from the hub kept in the standard cache layout, as
//! `huggingface_hub` writes it — `blobs/<hash>` (the sha256 of LFS files, the git blob id of
//! the rest), `snapshots/<commit>/<file>` linking to it, `refs/<revision>` naming the commit —
//! so later runs (and transformers) find the model without the network. A weights file is kept
//! only once the merge has streamed all of it and its sha256 matched; until then it is
//! `blobs/<hash>.incomplete`, which no reader takes for a file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::cache::repo_folder;
use super::http_source::BlockKeeper;
use super::integrity::{sha256_hex, Published};
use super::HubModel;
use crate::error::{MergeError, Result};

/// One model's folder in the cache, at one commit.
#[derive(Debug, Clone)]
pub struct CacheWriter {
    folder: PathBuf,
    commit: String,
}

impl CacheWriter {
    /// Creates the model's folders and points `refs/<revision>` at `commit`.
    pub fn new(cache: &Path, model: &HubModel, commit: &str) -> Result<CacheWriter> {
        let folder = repo_folder(cache, &model.repo);
        for sub in ["blobs", "refs"] {
            create_dir(&folder.join(sub))?;
        }
        create_dir(&folder.join("snapshots").join(commit))?;
        if !model.is_commit() {
            let path = folder.join("refs").join(&model.revision);
            if let Some(parent) = path.parent() {
                create_dir(parent)?;
            }
            std::fs::write(&path, commit).map_err(|e| MergeError::io(path.display(), e))?;
        }
        Ok(CacheWriter {
            folder,
            commit: commit.to_string(),
        })
    }

    /// A small file, whole and already checked.
    pub fn keep_whole(&self, name: &str, published: &Published, bytes: &[u8]) -> Result<()> {
        let blob = blob_name(published).unwrap_or_else(|| sha256_hex(bytes));
        let path = self.folder.join("blobs").join(&blob);
        let partial = incomplete(&path);
        std::fs::write(&partial, bytes).map_err(|e| MergeError::io(partial.display(), e))?;
        rename(&partial, &path)?;
        self.link(name, &blob)
    }

    /// A weights file, kept block by block as the merge streams it.
    pub fn keeper(&self, name: &str, published: &Published) -> Option<Box<dyn BlockKeeper>> {
        let blob = blob_name(published)?;
        Some(Box::new(BlobKeeper {
            cache: self.clone(),
            name: name.to_string(),
            path: self.folder.join("blobs").join(&blob),
            blob,
            file: None,
        }))
    }

    /// `snapshots/<commit>/<name>` → `../../blobs/<blob>` (a copy where links are refused).
    fn link(&self, name: &str, blob: &str) -> Result<()> {
        let snapshot = self.folder.join("snapshots").join(&self.commit);
        let path = snapshot.join(name);
        let _ = std::fs::remove_file(&path);
        let depth = name.matches('/').count() + 2;
        let target = PathBuf::from("../".repeat(depth)).join("blobs").join(blob);
        #[cfg(unix)]
        let linked = std::os::unix::fs::symlink(&target, &path);
        #[cfg(not(unix))]
        let linked = std::fs::copy(self.folder.join("blobs").join(blob), &path).map(|_| ());
        linked.map_err(|e| MergeError::io(path.display(), e))
    }
}

fn blob_name(published: &Published) -> Option<String> {
    match published {
        Published::Sha256(hash) | Published::GitBlob(hash) => Some(hash.to_ascii_lowercase()),
        Published::Unknown => None,
    }
}

fn incomplete(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".incomplete");
    PathBuf::from(name)
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| MergeError::io(path.display(), e))
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| MergeError::io(to.display(), e))
}

struct BlobKeeper {
    cache: CacheWriter,
    name: String,
    blob: String,
    path: PathBuf,
    file: Option<File>,
}

impl BlockKeeper for BlobKeeper {
    fn append(&mut self, block: &[u8]) -> Result<()> {
        let partial = incomplete(&self.path);
        if self.file.is_none() {
            let file = File::create(&partial).map_err(|e| MergeError::io(partial.display(), e))?;
            self.file = Some(file);
        }
        let file = self.file.as_mut().expect("opened above");
        file.write_all(block)
            .map_err(|e| MergeError::io(partial.display(), e))
    }

    fn complete(&mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            drop(file);
            rename(&incomplete(&self.path), &self.path)?;
        }
        self.cache.link(&self.name, &self.blob)
    }
}
