//! Files written by ShardWriter read back identically through our reader and the `safetensors` crate.

use std::collections::BTreeMap;
use std::path::Path;

use mixmerge::dtype::DType;
use mixmerge::io::{
    copy_tokenizer_files, open_checkpoint, Checkpoint, DirSink, LocalSource, OutputFolder,
    OutputTensor, ShardLayout, ShardWriter, TensorSource, INDEX_FILE,
};
use mixmerge::MergeError;
use safetensors::SafeTensors;

fn tensor(name: &str, dtype: DType, shape: &[usize]) -> OutputTensor {
    OutputTensor {
        name: name.to_string(),
        dtype,
        shape: shape.to_vec(),
    }
}

/// Distinct bytes per tensor so a misplaced range cannot go unnoticed.
fn payload(index: usize, tensor: &OutputTensor) -> Vec<u8> {
    (0..tensor.byte_len())
        .map(|i| (i as usize * 7 + index * 31 + 1) as u8)
        .collect()
}

fn every_dtype() -> Vec<OutputTensor> {
    vec![
        tensor("model.embed_tokens.weight", DType::BF16, &[11, 3]),
        tensor("model.layers.0.mlp.up_proj.weight", DType::F16, &[2, 3, 4]),
        tensor("model.layers.0.input_layernorm.weight", DType::F32, &[7]),
        tensor("lm_head.weight", DType::F64, &[3, 5]),
        tensor("scale", DType::F32, &[]),
        tensor("empty", DType::F16, &[0, 4]),
    ]
}

/// Writes `tensors` into `dir` in chunks of awkward sizes that straddle tensor boundaries.
fn write_checkpoint(
    dir: &Path,
    tensors: &[OutputTensor],
    max_shard_bytes: u64,
    metadata: BTreeMap<String, String>,
) -> ShardLayout {
    let mut writer = ShardWriter::new(
        DirSink::new(dir),
        tensors.to_vec(),
        max_shard_bytes,
        metadata,
    )
    .unwrap();
    let all: Vec<u8> = tensors
        .iter()
        .enumerate()
        .flat_map(|(i, t)| payload(i, t))
        .collect();
    let mut rest = all.as_slice();
    for size in [13, 1, 7, 64, 3].iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
        writer.write(chunk).unwrap();
        rest = tail;
    }
    assert_eq!(writer.bytes_written(), all.len() as u64);
    let (_, layout) = writer.finish().unwrap();
    layout
}

fn read_all(checkpoint: &Checkpoint<LocalSource>, name: &str) -> Vec<u8> {
    let info = &checkpoint.get(name).unwrap().info;
    let mut out = vec![0u8; info.len as usize];
    pollster::block_on(checkpoint.read_elements(name, 0, info.numel(), &mut out)).unwrap();
    out
}

fn safetensors_dtype(dtype: DType) -> safetensors::Dtype {
    match dtype {
        DType::F64 => safetensors::Dtype::F64,
        DType::F32 => safetensors::Dtype::F32,
        DType::F16 => safetensors::Dtype::F16,
        DType::BF16 => safetensors::Dtype::BF16,
    }
}

#[test]
fn every_dtype_round_trips_through_both_readers() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = every_dtype();
    let layout = write_checkpoint(dir.path(), &tensors, 1 << 30, BTreeMap::new());
    assert_eq!(layout.files, ["model.safetensors"]);
    assert!(!dir.path().join(INDEX_FILE).exists());

    let checkpoint = open_checkpoint(dir.path()).unwrap();
    assert_eq!(checkpoint.shards.len(), 1);
    let names: Vec<_> = tensors.iter().map(|t| t.name.clone()).collect();
    assert_eq!(checkpoint.order, names);

    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let parsed = SafeTensors::deserialize(&bytes).unwrap();
    for (i, expected) in tensors.iter().enumerate() {
        let data = payload(i, expected);
        assert_eq!(
            read_all(&checkpoint, &expected.name),
            data,
            "{}",
            expected.name
        );
        let info = &checkpoint.get(&expected.name).unwrap().info;
        assert_eq!((info.dtype, &info.shape), (expected.dtype, &expected.shape));

        let view = parsed.tensor(&expected.name).unwrap();
        assert_eq!(view.data(), data.as_slice(), "{}", expected.name);
        assert_eq!(view.shape(), expected.shape.as_slice());
        assert_eq!(view.dtype(), safetensors_dtype(expected.dtype));
    }
}

#[test]
fn read_elements_reads_a_slice_from_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = every_dtype();
    write_checkpoint(dir.path(), &tensors, 1 << 30, BTreeMap::new());
    let checkpoint = open_checkpoint(&dir.path().join("model.safetensors")).unwrap();
    // lm_head.weight: F64 [3, 5]; elements 4..9 are bytes 32..72.
    let mut out = vec![0u8; 5 * 8];
    pollster::block_on(checkpoint.read_elements("lm_head.weight", 4, 5, &mut out)).unwrap();
    assert_eq!(out, payload(3, &tensors[3])[32..72]);

    let err = pollster::block_on(checkpoint.read_elements("lm_head.weight", 14, 2, &mut [0; 16]))
        .unwrap_err();
    assert!(matches!(err, MergeError::BadTensor { ref tensor, .. } if tensor == "lm_head.weight"));
    let err = pollster::block_on(checkpoint.read_elements("nope", 0, 0, &mut [])).unwrap_err();
    assert!(matches!(err, MergeError::MissingTensor { ref tensor, .. } if tensor == "nope"));
}

#[test]
fn sharded_output_has_hf_names_and_a_correct_index() {
    let dir = tempfile::tempdir().unwrap();
    let tensors: Vec<_> = (0..5)
        .map(|i| tensor(&format!("layers.{i}.weight"), DType::F32, &[4, 4]))
        .collect();
    // 64 bytes each, 130 per shard: two per shard, then one.
    let layout = write_checkpoint(dir.path(), &tensors, 130, BTreeMap::new());
    let expected_files = [
        "model-00001-of-00003.safetensors",
        "model-00002-of-00003.safetensors",
        "model-00003-of-00003.safetensors",
    ];
    assert_eq!(layout.files, expected_files);
    for file in expected_files {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        SafeTensors::deserialize(&bytes).unwrap();
    }

    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(INDEX_FILE)).unwrap()).unwrap();
    assert_eq!(index["metadata"]["total_size"], 5 * 64);
    let weight_map = index["weight_map"].as_object().unwrap();
    assert_eq!(weight_map.len(), 5);
    assert_eq!(weight_map["layers.1.weight"], expected_files[0]);
    assert_eq!(weight_map["layers.2.weight"], expected_files[1]);
    assert_eq!(weight_map["layers.4.weight"], expected_files[2]);

    let checkpoint = open_checkpoint(dir.path()).unwrap();
    assert_eq!(checkpoint.shards.len(), 3);
    assert_eq!(checkpoint.get("layers.3.weight").unwrap().shard, 1);
    for (i, t) in tensors.iter().enumerate() {
        assert_eq!(read_all(&checkpoint, &t.name), payload(i, t));
    }
}

#[test]
fn a_tensor_bigger_than_the_shard_limit_lives_alone() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = vec![
        tensor("small.a", DType::F16, &[4]),
        tensor("huge", DType::F32, &[100]),
        tensor("small.b", DType::F16, &[4]),
    ];
    let layout = write_checkpoint(dir.path(), &tensors, 64, BTreeMap::new());
    assert_eq!(layout.tensors_per_shard, [0..1, 1..2, 2..3]);
    let bytes = std::fs::read(dir.path().join(&layout.files[1])).unwrap();
    let parsed = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(parsed.names(), ["huge"]);
    assert_eq!(
        parsed.tensor("huge").unwrap().data(),
        payload(1, &tensors[1])
    );
}

#[test]
fn metadata_survives_in_every_shard_and_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        ("mergekit_method".to_string(), "ties".to_string()),
    ]);
    let tensors = vec![
        tensor("a", DType::BF16, &[8]),
        tensor("b", DType::BF16, &[8]),
    ];
    let layout = write_checkpoint(dir.path(), &tensors, 16, metadata.clone());
    assert_eq!(layout.files.len(), 2);
    for file in &layout.files {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        let (_, parsed) = SafeTensors::read_metadata(&bytes).unwrap();
        let found = parsed.metadata().clone().unwrap();
        assert_eq!(
            found.get("mergekit_method").map(String::as_str),
            Some("ties")
        );
    }
    let checkpoint = open_checkpoint(dir.path()).unwrap();
    assert_eq!(checkpoint.metadata, metadata);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(INDEX_FILE)).unwrap()).unwrap();
    assert_eq!(index["metadata"]["format"], "pt");
}

#[test]
fn zero_size_and_scalar_tensors_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = vec![
        tensor("nothing", DType::F32, &[0]),
        tensor("scalar", DType::F64, &[]),
        tensor("nothing.either", DType::BF16, &[3, 0]),
    ];
    write_checkpoint(dir.path(), &tensors, 1 << 20, BTreeMap::new());
    let checkpoint = open_checkpoint(dir.path()).unwrap();
    assert_eq!(checkpoint.get("scalar").unwrap().info.numel(), 1);
    assert_eq!(read_all(&checkpoint, "scalar"), payload(1, &tensors[1]));
    assert!(read_all(&checkpoint, "nothing.either").is_empty());
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let parsed = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(parsed.tensor("scalar").unwrap().shape(), &[] as &[usize]);
    assert!(parsed.tensor("nothing").unwrap().data().is_empty());
}

#[test]
fn no_tensors_at_all_still_writes_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), &[], 1 << 20, BTreeMap::new());
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    assert!(SafeTensors::deserialize(&bytes).unwrap().is_empty());
    assert!(open_checkpoint(dir.path()).unwrap().order.is_empty());
}

#[test]
fn file_source_serves_reads_from_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let tensors: Vec<_> = (0..8)
        .map(|i| tensor(&format!("t{i}"), DType::F32, &[256]))
        .collect();
    write_checkpoint(dir.path(), &tensors, 1 << 20, BTreeMap::new());
    let checkpoint = open_checkpoint(dir.path()).unwrap();
    std::thread::scope(|scope| {
        for (i, t) in tensors.iter().enumerate() {
            let checkpoint = &checkpoint;
            scope.spawn(move || {
                let (source, info) = checkpoint.source_of(&t.name).unwrap();
                let mut out = vec![0u8; info.len as usize];
                pollster::block_on(source.read_range(info.start, &mut out)).unwrap();
                assert_eq!(out, payload(i, t));
            });
        }
    });
}

#[test]
fn output_folder_appears_only_on_commit() {
    let parent = tempfile::tempdir().unwrap();
    let final_dir = parent.path().join("merged");
    let output = OutputFolder::create(&final_dir, false).unwrap();
    let temp = output.path().to_path_buf();
    assert!(temp.is_dir());
    assert!(temp
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with(".merged.partial-"));
    std::fs::write(temp.join("model.safetensors"), b"x").unwrap();
    assert!(!final_dir.exists());
    assert_eq!(output.commit().unwrap(), final_dir);
    assert!(final_dir.join("model.safetensors").is_file());
    assert!(!temp.exists());
}

#[test]
fn output_folder_dropped_uncommitted_leaves_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let final_dir = parent.path().join("merged");
    let output = OutputFolder::create(&final_dir, false).unwrap();
    std::fs::write(output.path().join("partial.safetensors"), b"x").unwrap();
    drop(output);
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[test]
fn output_folder_refuses_to_clobber_unless_told() {
    let parent = tempfile::tempdir().unwrap();
    let final_dir = parent.path().join("merged");
    std::fs::create_dir(&final_dir).unwrap();
    std::fs::write(final_dir.join("old.txt"), b"old").unwrap();
    let err = OutputFolder::create(&final_dir, false).unwrap_err();
    assert!(matches!(err, MergeError::Output { ref path, .. } if path.contains("merged")));

    let output = OutputFolder::create(&final_dir, true).unwrap();
    std::fs::write(output.path().join("new.txt"), b"new").unwrap();
    output.commit().unwrap();
    assert!(final_dir.join("new.txt").is_file());
    assert!(!final_dir.join("old.txt").exists());
    assert_eq!(
        std::fs::read_dir(parent.path()).unwrap().count(),
        1,
        "nothing left aside"
    );

    let file = parent.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let err = OutputFolder::create(&file, true).unwrap_err();
    assert!(matches!(err, MergeError::Output { .. }));
}

#[test]
fn an_empty_existing_folder_is_reused() {
    let parent = tempfile::tempdir().unwrap();
    let final_dir = parent.path().join("merged");
    std::fs::create_dir(&final_dir).unwrap();
    let output = OutputFolder::create(&final_dir, false).unwrap();
    std::fs::write(output.path().join("model.safetensors"), b"x").unwrap();
    output.commit().unwrap();
    assert!(final_dir.join("model.safetensors").is_file());
}

#[test]
fn tokenizer_files_are_copied_when_present() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    std::fs::write(from.path().join("tokenizer.json"), b"{}").unwrap();
    std::fs::write(from.path().join("merges.txt"), b"a b").unwrap();
    std::fs::write(from.path().join("unrelated.txt"), b"no").unwrap();
    let copied = copy_tokenizer_files(from.path(), to.path()).unwrap();
    assert_eq!(copied, ["tokenizer.json", "merges.txt"]);
    assert_eq!(std::fs::read(to.path().join("merges.txt")).unwrap(), b"a b");
    assert!(!to.path().join("unrelated.txt").exists());
}

#[test]
fn dir_sink_writes_small_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = DirSink::new(dir.path());
    sink.write_small_file("config.json", b"{}").unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("config.json")).unwrap(),
        b"{}"
    );
}
