//! The local Hugging Face cache: `models--owner--name/refs/<revision>` holds a commit,
//! `snapshots/<commit>/` the files of that commit (links into `blobs/`).

use std::path::{Path, PathBuf};

use super::HubModel;
use crate::io::{index_shard_files, INDEX_FILE};

/// `models--owner--name`: the cache folder of `repo`.
pub fn repo_folder(cache: &Path, repo: &str) -> PathBuf {
    cache.join(format!("models--{}", repo.replace('/', "--")))
}

/// The cached snapshot of `model` that holds a whole checkpoint, if there is one: the
/// revision's commit through `refs/`, or the commit itself.
pub fn cached_snapshot(cache: &Path, model: &HubModel) -> Option<PathBuf> {
    let folder = repo_folder(cache, &model.repo);
    let commit = if model.is_commit() {
        model.revision.clone()
    } else {
        let text = std::fs::read_to_string(folder.join("refs").join(&model.revision)).ok()?;
        text.trim().to_string()
    };
    let snapshot = folder.join("snapshots").join(commit);
    holds_checkpoint(&snapshot).then_some(snapshot)
}

/// A snapshot can be partial (only `config.json` fetched): it counts once its index and every
/// shard it names are there, or a `.safetensors` or `.gguf` file is.
fn holds_checkpoint(snapshot: &Path) -> bool {
    let index = snapshot.join(INDEX_FILE);
    if let Ok(bytes) = std::fs::read(&index) {
        let name = index.display().to_string();
        return index_shard_files(&name, &bytes)
            .is_ok_and(|shards| shards.iter().all(|s| snapshot.join(s).is_file()));
    }
    let Ok(entries) = std::fs::read_dir(snapshot) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|entry| {
        let path = entry.path();
        let weights = path.extension().is_some_and(|e| {
            e.eq_ignore_ascii_case("safetensors") || e.eq_ignore_ascii_case("gguf")
        });
        weights && path.is_file()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(reference: &str) -> HubModel {
        HubModel::parse(reference).unwrap()
    }

    #[test]
    fn finds_a_revision_through_refs_and_a_commit_directly() {
        let cache = tempfile::tempdir().unwrap();
        let repo = repo_folder(cache.path(), "org/model");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let snapshot = repo.join("snapshots").join(commit);
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), format!("{commit}\n")).unwrap();
        // Only config.json so far: not a checkpoint yet.
        std::fs::write(snapshot.join("config.json"), "{}").unwrap();
        assert_eq!(cached_snapshot(cache.path(), &model("org/model")), None);
        std::fs::write(snapshot.join("model.safetensors"), "").unwrap();
        assert_eq!(
            cached_snapshot(cache.path(), &model("org/model")),
            Some(snapshot.clone())
        );
        let pinned = model(&format!("org/model@{commit}"));
        assert_eq!(cached_snapshot(cache.path(), &pinned), Some(snapshot));
        assert_eq!(cached_snapshot(cache.path(), &model("org/model@v2")), None);
        assert_eq!(cached_snapshot(cache.path(), &model("org/other")), None);
    }

    #[test]
    fn a_sharded_snapshot_needs_every_shard() {
        let cache = tempfile::tempdir().unwrap();
        let repo = repo_folder(cache.path(), "org/big");
        let commit = "89abcdef0123456789abcdef0123456789abcdef";
        let snapshot = repo.join("snapshots").join(commit);
        std::fs::create_dir_all(&snapshot).unwrap();
        let index = r#"{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}"#;
        std::fs::write(snapshot.join(INDEX_FILE), index).unwrap();
        std::fs::write(snapshot.join("model-00001-of-00002.safetensors"), "").unwrap();
        let pinned = model(&format!("org/big@{commit}"));
        assert_eq!(cached_snapshot(cache.path(), &pinned), None);
        std::fs::write(snapshot.join("model-00002-of-00002.safetensors"), "").unwrap();
        assert_eq!(cached_snapshot(cache.path(), &pinned), Some(snapshot));
    }
}
