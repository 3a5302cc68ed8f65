//! Streams a checkpoint out in one pass: each shard's header first, then its tensors in order.

use std::collections::{BTreeMap, HashSet};

pub use super::layout::{
    header_bytes, index_json, plan_shards, OutputTensor, ShardLayout, INDEX_FILE,
};
use crate::error::{MergeError, Result};

/// Where shard files go: a folder natively, a download stream in the browser.
pub trait ShardSink {
    fn begin_file(&mut self, name: &str) -> Result<()>;
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    fn end_file(&mut self) -> Result<()>;
}

/// Accepts tensor bytes in planned order and routes them into shard files.
pub struct ShardWriter<K: ShardSink> {
    sink: K,
    tensors: Vec<OutputTensor>,
    layout: ShardLayout,
    metadata: BTreeMap<String, String>,
    shard: usize,
    tensor: usize,
    remaining_in_tensor: u64,
    bytes_written: u64,
    total_bytes: u64,
}

impl<K: ShardSink> ShardWriter<K> {
    /// Plans the shards and writes the first header. `metadata` goes in every shard's header.
    pub fn new(
        sink: K,
        tensors: Vec<OutputTensor>,
        max_shard_bytes: u64,
        metadata: BTreeMap<String, String>,
    ) -> Result<Self> {
        let total_bytes = checked_total(&tensors)?;
        let layout = plan_shards(&tensors, max_shard_bytes);
        let mut writer = ShardWriter {
            sink,
            remaining_in_tensor: tensors.first().map_or(0, OutputTensor::byte_len),
            tensors,
            layout,
            metadata,
            shard: 0,
            tensor: 0,
            bytes_written: 0,
            total_bytes,
        };
        writer.begin_shard()?;
        writer.skip_finished_tensors()?;
        Ok(writer)
    }

    /// Appends bytes of the current tensor. Chunks may be any size and may span tensors and shards.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            if self.tensor == self.tensors.len() {
                return Err(self.output_error(format!(
                    "{} bytes more than the {} planned",
                    bytes.len(),
                    self.total_bytes
                )));
            }
            let take = bytes
                .len()
                .min(usize::try_from(self.remaining_in_tensor).unwrap_or(usize::MAX));
            self.sink.write(&bytes[..take])?;
            bytes = &bytes[take..];
            self.remaining_in_tensor -= take as u64;
            self.bytes_written += take as u64;
            self.skip_finished_tensors()?;
        }
        Ok(())
    }

    /// Tensor bytes accepted so far (headers not counted).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Tensor bytes the plan expects in all.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn layout(&self) -> &ShardLayout {
        &self.layout
    }

    /// Checks every planned byte arrived, ends the last file and writes the index when sharded.
    pub fn finish(mut self) -> Result<(K, ShardLayout)> {
        if self.tensor < self.tensors.len() {
            return Err(self.output_error(format!(
                "only {} of {} bytes were written; tensor `{}` is incomplete",
                self.bytes_written, self.total_bytes, self.tensors[self.tensor].name
            )));
        }
        self.sink.end_file()?;
        if self.layout.files.len() > 1 {
            self.sink.begin_file(INDEX_FILE)?;
            self.sink
                .write(&index_json(&self.layout, &self.tensors, &self.metadata))?;
            self.sink.end_file()?;
        }
        Ok((self.sink, self.layout))
    }

    fn begin_shard(&mut self) -> Result<()> {
        let range = self.layout.tensors_per_shard[self.shard].clone();
        self.sink.begin_file(&self.layout.files[self.shard])?;
        self.sink
            .write(&header_bytes(&self.tensors[range], &self.metadata))
    }

    /// Moves past completed (and empty) tensors, opening the next shard when one ends.
    fn skip_finished_tensors(&mut self) -> Result<()> {
        while self.remaining_in_tensor == 0 && self.tensor < self.tensors.len() {
            self.tensor += 1;
            if self.tensor == self.tensors.len() {
                break;
            }
            if self.tensor >= self.layout.tensors_per_shard[self.shard].end {
                self.sink.end_file()?;
                self.shard += 1;
                self.begin_shard()?;
            }
            self.remaining_in_tensor = self.tensors[self.tensor].byte_len();
        }
        Ok(())
    }

    fn output_error(&self, reason: String) -> MergeError {
        MergeError::Output {
            path: self.layout.files[self.shard].clone(),
            reason,
        }
    }
}

/// Rejects duplicate names and sizes that overflow before anything is written.
fn checked_total(tensors: &[OutputTensor]) -> Result<u64> {
    let mut names = HashSet::new();
    let mut total = 0u64;
    for tensor in tensors {
        let error = |reason: &str| MergeError::Output {
            path: tensor.name.clone(),
            reason: reason.to_string(),
        };
        if !names.insert(tensor.name.as_str()) {
            return Err(error("tensor name is planned twice"));
        }
        total = tensor
            .checked_byte_len()
            .and_then(|len| total.checked_add(len))
            .ok_or_else(|| error("tensor sizes overflow 64 bits"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    /// Records files in memory.
    #[derive(Default)]
    struct MemorySink {
        files: Vec<(String, Vec<u8>)>,
        open: bool,
    }

    impl ShardSink for MemorySink {
        fn begin_file(&mut self, name: &str) -> Result<()> {
            assert!(!self.open, "begin_file while a file is open");
            self.open = true;
            self.files.push((name.to_string(), Vec::new()));
            Ok(())
        }
        fn write(&mut self, bytes: &[u8]) -> Result<()> {
            assert!(self.open, "write outside a file");
            self.files.last_mut().unwrap().1.extend_from_slice(bytes);
            Ok(())
        }
        fn end_file(&mut self) -> Result<()> {
            assert!(self.open, "end_file without begin_file");
            self.open = false;
            Ok(())
        }
    }

    fn tensor(name: &str, elements: usize) -> OutputTensor {
        OutputTensor {
            name: name.into(),
            dtype: DType::F16,
            shape: vec![elements],
        }
    }

    #[test]
    fn chunks_spanning_shards_land_in_the_right_files() {
        let tensors = vec![
            tensor("a", 3),
            tensor("empty", 0),
            tensor("b", 5),
            tensor("c", 1),
        ];
        let mut writer =
            ShardWriter::new(MemorySink::default(), tensors, 8, BTreeMap::new()).unwrap();
        let data: Vec<u8> = (0..18).collect();
        for chunk in data.chunks(7) {
            writer.write(chunk).unwrap();
        }
        assert_eq!(writer.bytes_written(), 18);
        let (sink, layout) = writer.finish().unwrap();
        assert_eq!(layout.tensors_per_shard, [0..2, 2..3, 3..4]);
        let names: Vec<_> = sink.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "model-00001-of-00003.safetensors",
                "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors",
                INDEX_FILE
            ]
        );
        assert!(sink.files[0].1.ends_with(&data[..6]));
        assert!(sink.files[1].1.ends_with(&data[6..16]));
        assert!(sink.files[2].1.ends_with(&data[16..]));
    }

    #[test]
    fn too_many_bytes_is_an_error() {
        let mut writer = ShardWriter::new(
            MemorySink::default(),
            vec![tensor("a", 2)],
            100,
            BTreeMap::new(),
        )
        .unwrap();
        let err = writer.write(&[0; 5]).unwrap_err();
        assert!(matches!(err, MergeError::Output { .. }), "{err}");
    }

    #[test]
    fn too_few_bytes_is_an_error_naming_the_tensor() {
        let mut writer = ShardWriter::new(
            MemorySink::default(),
            vec![tensor("a", 2)],
            100,
            BTreeMap::new(),
        )
        .unwrap();
        writer.write(&[0; 3]).unwrap();
        let err = writer.finish().err().unwrap();
        assert!(matches!(err, MergeError::Output { .. }));
        assert!(err.to_string().contains("`a`"), "{err}");
    }

    #[test]
    fn duplicate_and_overflowing_tensors_are_refused() {
        let dup = vec![tensor("a", 1), tensor("a", 1)];
        let err = ShardWriter::new(MemorySink::default(), dup, 100, BTreeMap::new())
            .err()
            .unwrap();
        assert!(matches!(err, MergeError::Output { .. }));
        let huge = vec![tensor("a", usize::MAX)];
        let err = ShardWriter::new(MemorySink::default(), huge, 100, BTreeMap::new())
            .err()
            .unwrap();
        assert!(matches!(err, MergeError::Output { .. }));
    }
}
