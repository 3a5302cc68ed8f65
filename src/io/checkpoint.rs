//! A checkpoint: one or more shards, their headers merged into one name → location table.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::header::{read_header, TensorInfo};
use super::source::TensorSource;
use crate::error::{MergeError, Result};

/// Which shard holds a tensor, and where inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorLocation {
    pub shard: usize,
    pub info: TensorInfo,
}

/// A model's tensors across its shards, with headers already validated.
#[derive(Debug)]
pub struct Checkpoint<S> {
    pub name: String,
    pub shards: Vec<S>,
    pub tensors: BTreeMap<String, TensorLocation>,
    /// Tensor names in shard order, then file offset order.
    pub order: Vec<String>,
    /// `__metadata__` of the first shard.
    pub metadata: BTreeMap<String, String>,
}

impl<S: TensorSource> Checkpoint<S> {
    /// Reads every shard's header. `index` = (file name for messages, bytes of
    /// `model.safetensors.index.json`) when sharded; it must agree with the shards exactly.
    pub async fn from_sources(
        name: String,
        shards: Vec<S>,
        index: Option<(&str, &[u8])>,
    ) -> Result<Self> {
        if shards.is_empty() {
            return Err(MergeError::ModelNotFound { path: name });
        }
        let mut tensors = BTreeMap::new();
        let mut order = Vec::new();
        let mut metadata = BTreeMap::new();
        for (shard, source) in shards.iter().enumerate() {
            let header = read_header(source).await?;
            if shard == 0 {
                metadata = header.metadata;
            }
            for info in header.tensors {
                if let Some(earlier) = tensors.get(&info.name) {
                    let earlier: &TensorLocation = earlier;
                    return Err(MergeError::BadTensor {
                        file: source.name().to_string(),
                        tensor: info.name,
                        reason: format!("also present in {}", shards[earlier.shard].name()),
                    });
                }
                order.push(info.name.clone());
                tensors.insert(info.name.clone(), TensorLocation { shard, info });
            }
        }
        let checkpoint = Checkpoint {
            name,
            shards,
            tensors,
            order,
            metadata,
        };
        if let Some((index_file, bytes)) = index {
            checkpoint.check_index(index_file, bytes)?;
        }
        Ok(checkpoint)
    }

    pub fn get(&self, tensor: &str) -> Option<&TensorLocation> {
        self.tensors.get(tensor)
    }

    /// The shard holding `tensor`, and the tensor's header entry.
    pub fn source_of(&self, tensor: &str) -> Option<(&S, &TensorInfo)> {
        self.get(tensor)
            .map(|loc| (&self.shards[loc.shard], &loc.info))
    }

    /// Reads the raw bytes of elements `[first, first + count)` of `tensor` (row-major flat index).
    /// `out` must be exactly `count × dtype size` bytes.
    pub async fn read_elements(
        &self,
        tensor: &str,
        first: usize,
        count: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let (source, info, offset) = self.locate(tensor, first, count)?;
        if out.len() != count * info.dtype.size() {
            return Err(MergeError::BadTensor {
                file: source.name().to_string(),
                tensor: tensor.to_string(),
                reason: format!(
                    "buffer of {} bytes given for {count} {} elements",
                    out.len(),
                    info.dtype
                ),
            });
        }
        source.read_range(offset, out).await
    }

    /// The raw bytes of elements `[first, first + count)` of `tensor`: a view without a copy
    /// when its shard is in memory (mapped), which drops them again when the bytes go out of
    /// scope ([`TensorSource::release`]); else read into `copy`.
    pub async fn element_bytes<'a>(
        &'a self,
        tensor: &str,
        first: usize,
        count: usize,
        copy: &'a mut Vec<u8>,
    ) -> Result<ElementBytes<'a, S>> {
        let (source, info, offset) = self.locate(tensor, first, count)?;
        let len = count * info.dtype.size();
        if let Some(view) = ElementBytes::viewed(source, offset, len) {
            return Ok(view);
        }
        crate::exec::set_len(copy, len);
        source.read_range(offset, copy).await?;
        Ok(ElementBytes::Copied(copy))
    }

    /// The raw bytes of elements `[first, first + count)` of `tensor` as a view of its mapped
    /// shard (released when dropped); `None` when the shard is not mapped.
    pub fn mapped_elements(
        &self,
        tensor: &str,
        first: usize,
        count: usize,
    ) -> Result<Option<ElementBytes<'_, S>>> {
        let (source, info, offset) = self.locate(tensor, first, count)?;
        Ok(ElementBytes::viewed(
            source,
            offset,
            count * info.dtype.size(),
        ))
    }

    /// The shard and header entry of `tensor`, and the byte offset of element `first`, once
    /// `[first, first + count)` is checked to lie inside it.
    fn locate(&self, tensor: &str, first: usize, count: usize) -> Result<(&S, &TensorInfo, u64)> {
        let (source, info) = self
            .source_of(tensor)
            .ok_or_else(|| MergeError::MissingTensor {
                tensor: tensor.to_string(),
                model: self.name.clone(),
            })?;
        let numel = info.numel();
        if first.checked_add(count).is_none_or(|end| end > numel) {
            return Err(MergeError::BadTensor {
                file: source.name().to_string(),
                tensor: tensor.to_string(),
                reason: format!(
                    "elements {first}..{first}+{count} requested from a tensor of {numel}"
                ),
            });
        }
        Ok((
            source,
            info,
            info.start + (first * info.dtype.size()) as u64,
        ))
    }

    /// Every element of `tensor`, decoded to f32 (row-major).
    pub async fn read_f32(&self, tensor: &str) -> Result<Vec<f32>> {
        let (_, info) = self
            .source_of(tensor)
            .ok_or_else(|| MergeError::MissingTensor {
                tensor: tensor.to_string(),
                model: self.name.clone(),
            })?;
        let (dtype, count) = (info.dtype, info.numel());
        let mut bytes = vec![0u8; count * dtype.size()];
        self.read_elements(tensor, 0, count, &mut bytes).await?;
        let mut values = vec![0f32; count];
        dtype.decode(&bytes, &mut values);
        Ok(values)
    }

    /// The index must name exactly the tensors the shards hold, each in the right shard.
    fn check_index(&self, index_file: &str, bytes: &[u8]) -> Result<()> {
        let bad = |reason: String| MergeError::BadIndex {
            file: index_file.to_string(),
            reason,
        };
        let weight_map = parse_weight_map(index_file, bytes)?;
        let mut listed = BTreeSet::new();
        for (tensor, file) in &weight_map {
            let shard = self.shard_named(file).ok_or_else(|| {
                bad(format!(
                    "names shard {file} (for `{tensor}`), which was not found"
                ))
            })?;
            match self.get(tensor) {
                Some(loc) if loc.shard == shard => {}
                Some(loc) => {
                    return Err(bad(format!(
                        "places `{tensor}` in {file}, but it is in {}",
                        self.shards[loc.shard].name()
                    )))
                }
                None => {
                    return Err(bad(format!(
                        "lists `{tensor}` in {file}, which does not contain it"
                    )))
                }
            }
            listed.insert(tensor.as_str());
        }
        if let Some(missing) = self.order.iter().find(|t| !listed.contains(t.as_str())) {
            let loc = &self.tensors[missing];
            return Err(bad(format!(
                "does not list `{missing}`, which is in {}",
                self.shards[loc.shard].name()
            )));
        }
        Ok(())
    }

    /// Index entries are bare file names; shard names may be full paths.
    fn shard_named(&self, file: &str) -> Option<usize> {
        self.shards.iter().position(|s| {
            let name = s.name();
            name == file
                || name
                    .strip_suffix(file)
                    .is_some_and(|dir| dir.ends_with('/') || dir.ends_with('\\'))
        })
    }
}

/// The shard files a `model.safetensors.index.json` names, each once, sorted.
pub fn index_shard_files(index_file: &str, bytes: &[u8]) -> Result<Vec<String>> {
    let files: BTreeSet<String> = parse_weight_map(index_file, bytes)?
        .into_iter()
        .map(|(_, file)| file)
        .collect();
    Ok(files.into_iter().collect())
}

/// `weight_map` entries as (tensor, file), in file order.
fn parse_weight_map(index_file: &str, bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let bad = |reason: String| MergeError::BadIndex {
        file: index_file.to_string(),
        reason,
    };
    let json: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let weight_map = json
        .get("weight_map")
        .ok_or_else(|| bad("no `weight_map`".into()))?
        .as_object()
        .ok_or_else(|| bad("`weight_map` must be an object".into()))?;
    weight_map
        .iter()
        .map(|(tensor, file)| match file.as_str() {
            Some(file) => Ok((tensor.clone(), file.to_string())),
            None => Err(bad(format!("`weight_map.{tensor}` must be a file name"))),
        })
        .collect()
}

/// Bytes of a run of elements, from [`Checkpoint::element_bytes`].
pub enum ElementBytes<'a, S: TensorSource> {
    /// Released from the source's memory when dropped.
    View {
        source: &'a S,
        offset: u64,
        bytes: &'a [u8],
    },
    Copied(&'a [u8]),
}

impl<S: TensorSource> std::ops::Deref for ElementBytes<'_, S> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ElementBytes::View { bytes, .. } | ElementBytes::Copied(bytes) => bytes,
        }
    }
}

impl<'a, S: TensorSource> ElementBytes<'a, S> {
    /// `len` bytes at `offset` of `source`, viewed in place when it maps them.
    fn viewed(source: &'a S, offset: u64, len: usize) -> Option<Self> {
        let bytes = source.view(offset, len)?;
        Some(ElementBytes::View {
            source,
            offset,
            bytes,
        })
    }

    /// The bytes, left in this process's memory: for reading ahead, where a later view of
    /// the same elements releases them.
    pub fn keep_mapped(self) -> &'a [u8] {
        let this = std::mem::ManuallyDrop::new(self);
        match &*this {
            ElementBytes::View { bytes, .. } | ElementBytes::Copied(bytes) => bytes,
        }
    }
}

impl<S: TensorSource> Drop for ElementBytes<'_, S> {
    fn drop(&mut self) {
        if let ElementBytes::View {
            source,
            offset,
            bytes,
        } = self
        {
            source.release(*offset, bytes.len());
        }
    }
}
