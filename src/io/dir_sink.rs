//! Native shard sink: files in a folder, written through a large buffer.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::writer::ShardSink;
use crate::error::{MergeError, Result};

/// Large enough that tensor chunks go to the OS in few, big writes.
const BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// Writes each shard as a file in `dir`.
#[derive(Debug)]
pub struct DirSink {
    dir: PathBuf,
    open: Option<(PathBuf, BufWriter<File>)>,
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
        let file = File::create(&path).map_err(|e| MergeError::io(path.display(), e))?;
        self.open = Some((path, BufWriter::with_capacity(BUFFER_BYTES, file)));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let Some((path, writer)) = self.open.as_mut() else {
            return Err(MergeError::Output {
                path: self.dir.display().to_string(),
                reason: "write before any file was begun".into(),
            });
        };
        writer
            .write_all(bytes)
            .map_err(|e| MergeError::io(path.display(), e))
    }

    fn end_file(&mut self) -> Result<()> {
        if let Some((path, writer)) = self.open.take() {
            let file = writer
                .into_inner()
                .map_err(|e| MergeError::io(path.display(), e.into_error()))?;
            if self.durable {
                file.sync_all()
                    .map_err(|e| MergeError::io(path.display(), e))?;
            }
        }
        Ok(())
    }
}
