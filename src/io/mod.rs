//! Reading checkpoints as byte-range streams and writing merged ones shard by shard.

pub mod checkpoint;
pub mod folder_files;
pub mod gguf;
pub mod header;
pub mod hub;
pub mod input_source;
pub mod layout;
pub mod source;
pub mod writer;

#[cfg(not(target_arch = "wasm32"))]
pub mod dir_sink;
#[cfg(not(target_arch = "wasm32"))]
pub mod direct_file;
#[cfg(not(target_arch = "wasm32"))]
pub mod file_source;
#[cfg(not(target_arch = "wasm32"))]
pub mod native_source;
#[cfg(not(target_arch = "wasm32"))]
pub mod open;
#[cfg(not(target_arch = "wasm32"))]
pub mod open_model;
#[cfg(not(target_arch = "wasm32"))]
pub mod output;

pub use checkpoint::{index_shard_files, Checkpoint, ElementBytes, TensorLocation};
pub use folder_files::{PICKLE_EXTENSIONS, TOKENIZER_FILES};
pub use header::{parse_header, read_header, Header, TensorInfo, MAX_HEADER_LEN};
pub use hub::{looks_like_hub_id, HubModel, HubSettings};
pub use input_source::InputSource;
pub use layout::{header_bytes, index_json, plan_shards, OutputTensor, ShardLayout, INDEX_FILE};
pub use source::{MemorySource, TensorSource};
pub use writer::{ShardSink, ShardWriter};

#[cfg(not(target_arch = "wasm32"))]
pub use dir_sink::DirSink;
#[cfg(not(target_arch = "wasm32"))]
pub use file_source::FileSource;
#[cfg(not(target_arch = "wasm32"))]
pub use input_source::LocalSource;
#[cfg(not(target_arch = "wasm32"))]
pub use native_source::NativeSource;
#[cfg(not(target_arch = "wasm32"))]
pub use open::{model_folder, open_checkpoint, open_gguf_file, read_model_config};
#[cfg(not(target_arch = "wasm32"))]
pub use open_model::{open_model, ModelFiles, OpenedModel};
#[cfg(not(target_arch = "wasm32"))]
pub use output::{copy_tokenizer_files, OutputFolder};
