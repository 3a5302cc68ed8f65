//! Finding a checkpoint on disk: a file, a folder, a sharded folder, or a clear refusal.

use std::path::{Path, PathBuf};

use super::checkpoint::{index_shard_files, Checkpoint};
use super::file_source::FileSource;
use super::folder_files::PICKLE_EXTENSIONS;
use super::gguf::GgufFile;
use super::input_source::{InputSource, LocalSource};
use super::layout::INDEX_FILE;
use super::native_source::NativeSource;
use crate::error::{MergeError, Result};

/// Opens a `.safetensors` or `.gguf` file or a model folder (sharded or not) and validates
/// every header. GGUF tensors appear under their Hugging Face names, quantised ones as F32.
pub fn open_checkpoint(path: &Path) -> Result<Checkpoint<LocalSource>> {
    let name = path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(MergeError::ModelNotFound { path: name });
        }
        Err(e) => return Err(MergeError::io(name, e)),
    };
    if metadata.is_dir() {
        return open_folder(path);
    }
    if has_extension(path, "safetensors") {
        return open_single(path);
    }
    if has_extension(path, "gguf") {
        return open_gguf(path);
    }
    if name.ends_with(".safetensors.index.json") {
        return open_indexed(&model_folder(path), path);
    }
    if PICKLE_EXTENSIONS.iter().any(|ext| has_extension(path, ext)) {
        return Err(MergeError::PickleRefused { file: name });
    }
    Err(MergeError::ModelNotFound { path: name })
}

/// Opens a `.gguf` file on its own, for its tensors, config and tokenizer.
pub fn open_gguf_file(path: &Path) -> Result<GgufFile<FileSource>> {
    pollster::block_on(GgufFile::open(FileSource::open(path)?))
}

/// The folder holding `config.json` and tokenizer files: `path` itself, or a file's parent.
pub fn model_folder(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `config.json` of a model folder, if it has one.
pub fn read_model_config(folder: &Path) -> Result<Option<serde_json::Value>> {
    let path = folder.join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MergeError::io(path.display(), e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        let reason = format!("not valid JSON ({e})");
        MergeError::io(
            path.display(),
            std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
        )
    })
}

fn open_folder(dir: &Path) -> Result<Checkpoint<LocalSource>> {
    let index = dir.join(INDEX_FILE);
    if index.is_file() {
        return open_indexed(dir, &index);
    }
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return open_single(&single);
    }
    let safetensors = files_with_extensions(dir, &["safetensors"])?;
    match safetensors.as_slice() {
        [only] => open_single(only),
        [] => open_folder_without_safetensors(dir),
        several => Err(MergeError::BadIndex {
            file: index.display().to_string(),
            reason: format!(
                "missing, and the folder holds several .safetensors files ({}); add the index or name one file",
                file_names(several).join(", ")
            ),
        }),
    }
}

/// A lone `.gguf`, else a clear refusal of pickles, else not found.
fn open_folder_without_safetensors(dir: &Path) -> Result<Checkpoint<LocalSource>> {
    match files_with_extensions(dir, &["gguf"])?.as_slice() {
        [only] => return open_gguf(only),
        [] => {}
        several => {
            let names = file_names(several);
            return Err(MergeError::ModelNotFound {
                path: format!(
                    "{} (several .gguf files: {}; name one file)",
                    dir.display(),
                    names.join(", ")
                ),
            });
        }
    }
    match files_with_extensions(dir, &PICKLE_EXTENSIONS)?.first() {
        Some(pickle) => Err(MergeError::PickleRefused {
            file: pickle.display().to_string(),
        }),
        None => Err(MergeError::ModelNotFound {
            path: dir.display().to_string(),
        }),
    }
}

fn file_names(paths: &[PathBuf]) -> Vec<&str> {
    paths
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect()
}

fn open_gguf(path: &Path) -> Result<Checkpoint<LocalSource>> {
    let source = pollster::block_on(InputSource::gguf(NativeSource::File(FileSource::open(
        path,
    )?)))?;
    let name = path.display().to_string();
    pollster::block_on(Checkpoint::from_sources(name, vec![source], None))
}

fn open_single(path: &Path) -> Result<Checkpoint<LocalSource>> {
    let source = InputSource::Safetensors(NativeSource::File(FileSource::open(path)?));
    let name = path.display().to_string();
    pollster::block_on(Checkpoint::from_sources(name, vec![source], None))
}

fn open_indexed(dir: &Path, index: &Path) -> Result<Checkpoint<LocalSource>> {
    let index_name = index.display().to_string();
    let bytes = std::fs::read(index).map_err(|e| MergeError::io(&index_name, e))?;
    let mut shards = Vec::new();
    for file in index_shard_files(&index_name, &bytes)? {
        let bad = |reason: String| MergeError::BadIndex {
            file: index_name.clone(),
            reason,
        };
        // Shards must sit beside the index; a name like `../x` would read outside the model.
        let plain = Path::new(&file)
            .file_name()
            .is_some_and(|n| n == file.as_str());
        if !plain {
            return Err(bad(format!("shard name `{file}` is not a plain file name")));
        }
        let path = dir.join(&file);
        if !path.is_file() {
            return Err(bad(format!(
                "names shard {file}, which is not in {}",
                dir.display()
            )));
        }
        shards.push(InputSource::Safetensors(NativeSource::File(
            FileSource::open(&path)?,
        )));
    }
    let name = dir.display().to_string();
    let index = Some((index_name.as_str(), bytes.as_slice()));
    pollster::block_on(Checkpoint::from_sources(name, shards, index))
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn files_with_extensions(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| MergeError::io(dir.display(), e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| MergeError::io(dir.display(), e))?.path();
        if path.is_file() && extensions.iter().any(|ext| has_extension(&path, ext)) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_folder_of_a_file_is_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.safetensors");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(model_folder(&file), dir.path());
        assert_eq!(model_folder(dir.path()), dir.path());
    }

    #[test]
    fn config_json_is_optional_but_must_parse() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_model_config(dir.path()).unwrap().is_none());
        std::fs::write(dir.path().join("config.json"), br#"{"hidden_size": 8}"#).unwrap();
        let config = read_model_config(dir.path()).unwrap().unwrap();
        assert_eq!(config["hidden_size"], 8);
        std::fs::write(dir.path().join("config.json"), b"{oops").unwrap();
        let err = read_model_config(dir.path()).unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
    }
}
