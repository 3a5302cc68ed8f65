//! The output folder appears only when a merge completes: work happens in a hidden sibling.

use std::path::{Path, PathBuf};

use super::folder_files::TOKENIZER_FILES;
use crate::error::{MergeError, Result};

/// A temporary folder beside the destination, renamed into place by `commit`; removed if dropped.
#[derive(Debug)]
pub struct OutputFolder {
    final_dir: PathBuf,
    temp_dir: PathBuf,
    overwrite: bool,
    committed: bool,
}

impl OutputFolder {
    /// Refuses a destination that is a file, or a non-empty folder unless `overwrite`.
    pub fn create(final_dir: &Path, overwrite: bool) -> Result<Self> {
        check_destination(final_dir, overwrite)?;
        let error = |reason: String| output_error(final_dir, reason);
        let name = final_dir
            .file_name()
            .ok_or_else(|| error("has no folder name".into()))?
            .to_string_lossy()
            .into_owned();
        let parent = match final_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| MergeError::io(parent.display(), e))?;
        let temp_dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if temp_dir.exists() {
            // Left by an earlier crashed run with the same process id.
            std::fs::remove_dir_all(&temp_dir)
                .map_err(|e| MergeError::io(temp_dir.display(), e))?;
        }
        std::fs::create_dir(&temp_dir).map_err(|e| MergeError::io(temp_dir.display(), e))?;
        Ok(OutputFolder {
            final_dir: final_dir.to_path_buf(),
            temp_dir,
            overwrite,
            committed: false,
        })
    }

    /// The temporary folder to write into.
    pub fn path(&self) -> &Path {
        &self.temp_dir
    }

    /// Moves the finished folder into place, replacing the old one when overwriting.
    pub fn commit(mut self) -> Result<PathBuf> {
        check_destination(&self.final_dir, self.overwrite)?;
        let final_dir = self.final_dir.clone();
        let rename = |from: &Path, to: &Path| {
            std::fs::rename(from, to).map_err(|e| MergeError::io(to.display(), e))
        };
        if final_dir.is_dir() {
            let aside = self.temp_dir.with_file_name(format!(
                ".{}.old-{}",
                final_dir.file_name().unwrap_or_default().to_string_lossy(),
                std::process::id()
            ));
            rename(&final_dir, &aside)?;
            if let Err(e) = rename(&self.temp_dir, &final_dir) {
                let _ = std::fs::rename(&aside, &final_dir);
                return Err(e);
            }
            self.committed = true;
            std::fs::remove_dir_all(&aside).map_err(|e| MergeError::io(aside.display(), e))?;
        } else {
            rename(&self.temp_dir, &final_dir)?;
            self.committed = true;
        }
        Ok(final_dir)
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp_dir);
        }
    }
}

/// Copies whichever tokenizer and generation files exist in `from`; returns their names.
pub fn copy_tokenizer_files(from: &Path, to: &Path) -> Result<Vec<String>> {
    let mut copied = Vec::new();
    for name in TOKENIZER_FILES {
        let source = from.join(name);
        if source.is_file() {
            std::fs::copy(&source, to.join(name))
                .map_err(|e| MergeError::io(source.display(), e))?;
            copied.push(name.to_string());
        }
    }
    Ok(copied)
}

fn check_destination(final_dir: &Path, overwrite: bool) -> Result<()> {
    if final_dir.is_file() {
        return Err(output_error(final_dir, "is a file, not a folder".into()));
    }
    if !overwrite && final_dir.is_dir() {
        let mut entries =
            std::fs::read_dir(final_dir).map_err(|e| MergeError::io(final_dir.display(), e))?;
        if entries.next().is_some() {
            return Err(output_error(
                final_dir,
                "folder exists and is not empty; choose another or allow overwriting".into(),
            ));
        }
    }
    Ok(())
}

fn output_error(path: &Path, reason: String) -> MergeError {
    MergeError::Output {
        path: path.display().to_string(),
        reason,
    }
}
