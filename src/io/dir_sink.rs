//! Native shard sink: files in a folder, each written past the page cache ([`DirectFile`]).

use std::path::{Path, PathBuf};

use super::direct_file::DirectFile;
use super::writer::ShardSink;
use crate::error::{MergeError, Result};

/// Writes each shard as a file in `dir`.
#[derive(Debug)]
pub struct DirSink {
    dir: PathBuf,
    open: Option<(PathBuf, DirectFile)>,
    /// fsync every file when it ends (mergekit does not; off by default).
    durable: bool,
}

impl DirSink {
    pub fn new(dir: &Path) -> Self {
        DirSink {
            dir: dir.to_path_buf(),
            open: None,
            durable: false,
        }
    }

    /// A sink that flushes every file to stable storage before moving on.
    pub fn durable(dir: &Path) -> Self {
        DirSink {
            durable: true,
            ..DirSink::new(dir)
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a whole small file (config, README) at once.
    pub fn write_small_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| MergeError::io(path.display(), e))
    }
}

impl ShardSink for DirSink {
    fn begin_file(&mut self, name: &str) -> Result<()> {
        self.end_file()?;
        let path = self.dir.join(name);
        let file = DirectFile::create(&path)?;
        self.open = Some((path, file));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let Some((_, writer)) = self.open.as_mut() else {
            return Err(MergeError::Output {
                path: self.dir.display().to_string(),
                reason: "write before any file was begun".into(),
            });
        };
        writer.write_all(bytes)
    }

    fn end_file(&mut self) -> Result<()> {
        match self.open.take() {
            Some((_, writer)) => writer.finish(self.durable),
            None => Ok(()),
        }
    }
}
