//! Bad inputs found while planning: each gives its own error naming the file, tensor or key,
//! and no output folder (nor a temporary one) appears.

use crate::common;

use common::*;
use mixmerge::dtype::DType;
use mixmerge::native::MergeOptions;
use mixmerge::MergeError;

const INPUTS: [&str; 3] = ["base", "a", "b"];

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    llama_like(&dir.path().join("base"), 2, DType::BF16, 0.0);
    llama_like(&dir.path().join("a"), 2, DType::BF16, 1.0);
    llama_like(&dir.path().join("b"), 2, DType::BF16, 2.0);
    dir
}

const TASK_ARITHMETIC: &str = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 0.5}\n  - model: b\n    parameters: {weight: 0.5}\n";

fn fails(dir: &tempfile::TempDir, config: &str) -> MergeError {
    let error = merge(dir.path(), config, &MergeOptions::default()).expect_err("merge must fail");
    assert!(
        leftovers(dir.path(), &INPUTS).is_empty(),
        "output left behind: {:?}",
        leftovers(dir.path(), &INPUTS)
    );
    error
}

#[test]
fn differing_shape_of_same_tensor() {
    let dir = setup();
    let mut values = vec![];
    for t in read_all(&dir.path().join("b")) {
        let (name, (dtype, shape, bytes)) = t;
        let mut v = vec![0f32; bytes.len() / dtype.size()];
        dtype.decode(&bytes, &mut v);
        let shape = if name == "model.layers.1.self_attn.q_proj.weight" {
            vec![4, 16]
        } else {
            shape
        };
        values.push(tensor(&name, dtype, &shape, &v));
    }
    write_model(&dir.path().join("b"), &values);
    let error = fails(&dir, TASK_ARITHMETIC);
    assert!(
        matches!(&error, MergeError::Mismatch { tensor, model, .. } if tensor == "model.layers.1.self_attn.q_proj.weight" && model == "b"),
        "{error:?}"
    );
    assert!(error.to_string().contains("[4, 16]"), "{error}");
}

#[test]
fn missing_tensor_names_it() {
    let dir = setup();
    write_model(
        &dir.path().join("a"),
        &[tensor(
            "model.embed_tokens.weight",
            DType::BF16,
            &[16, 8],
            &[0.5; 128],
        )],
    );
    let error = fails(&dir, TASK_ARITHMETIC);
    assert!(
        matches!(&error, MergeError::MissingTensor { model, .. } if model == "a"),
        "{error:?}"
    );
}

#[test]
fn unknown_method() {
    let dir = setup();
    let error = fails(
        &dir,
        &TASK_ARITHMETIC.replace("task_arithmetic", "frobnicate"),
    );
    assert!(
        matches!(&error, MergeError::Config { key, .. } if key == "merge_method"),
        "{error:?}"
    );
}

#[test]
fn out_of_range_parameter() {
    let dir = setup();
    let config = TASK_ARITHMETIC.replace("merge_method: task_arithmetic", "merge_method: linear");
    let config = config.replace(
        "{weight: 0.5}\n  - model: b",
        "{weight: 0.5, normalize: 3}\n  - model: b",
    );
    let error = fails(&dir, &config);
    assert!(
        matches!(&error, MergeError::Config { key, .. } if key.contains("models[0].parameters")),
        "{error:?}"
    );
}

#[test]
fn missing_model_folder() {
    let dir = setup();
    let error = fails(&dir, &TASK_ARITHMETIC.replace("model: b", "model: nowhere"));
    assert!(
        matches!(&error, MergeError::ModelNotFound { path } if path.contains("nowhere")),
        "{error:?}"
    );
}

#[test]
fn an_unreachable_hub_is_an_error_before_any_output() {
    let dir = setup();
    let config = TASK_ARITHMETIC.replace("model: b\n", "model: meta-llama/Llama-3.2-1B\n");
    std::fs::write(dir.path().join("merge.yml"), &config).unwrap();
    let spec = mixmerge::native::read_config(&dir.path().join("merge.yml")).unwrap();
    let settings = mixmerge::io::HubSettings {
        attempts: 2,
        ..mixmerge::io::HubSettings::for_endpoint("http://127.0.0.1:9")
    };
    let Err(error) = mixmerge::native::prepare_with(spec, None, &settings) else {
        panic!("an unreachable hub must fail");
    };
    assert!(
        matches!(&error, MergeError::HubReference { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("meta-llama/Llama-3.2-1B@main") && text.contains("streaming it failed"),
        "{text}"
    );
    assert!(leftovers(dir.path(), &INPUTS).is_empty());
}

#[test]
fn malformed_header_in_one_input() {
    let dir = setup();
    let file = dir.path().join("a/model.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8] = b'[';
    std::fs::write(&file, bytes).unwrap();
    let error = fails(&dir, TASK_ARITHMETIC);
    assert!(
        matches!(&error, MergeError::MalformedHeader { file, .. } if file.contains("a/model.safetensors")),
        "{error:?}"
    );
}

#[test]
fn truncated_input_file() {
    let dir = setup();
    let file = dir.path().join("b/model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let error = fails(&dir, TASK_ARITHMETIC);
    assert!(
        matches!(&error, MergeError::MalformedHeader { file, .. } | MergeError::BadTensor { file, .. } if file.contains("b/model.safetensors")),
        "{error:?}"
    );
}

#[test]
fn pickle_checkpoint_refused() {
    let dir = setup();
    std::fs::remove_file(dir.path().join("b/model.safetensors")).unwrap();
    std::fs::write(dir.path().join("b/pytorch_model.bin"), b"\x80\x02}q\x00.").unwrap();
    let error = fails(&dir, TASK_ARITHMETIC);
    assert!(
        matches!(&error, MergeError::PickleRefused { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_base_for_task_arithmetic() {
    let dir = setup();
    let error = fails(&dir, &TASK_ARITHMETIC.replace("base_model: base\n", ""));
    assert!(
        matches!(&error, MergeError::Config { key, .. } if key == "base_model"),
        "{error:?}"
    );
}

#[test]
fn mixup_with_three_models() {
    let dir = setup();
    let config = "merge_method: linear\nmodels:\n  - model: base\n    parameters: {weight: 1}\n  - model: a\n    parameters: {weight: 1}\n  - model: b\n    parameters: {weight: 1}\nmixup: {alpha: 0.5}\n";
    let error = fails(&dir, config);
    assert!(
        matches!(&error, MergeError::Config { key, .. } if key.starts_with("mixup")),
        "{error:?}"
    );
}

#[test]
fn slice_beyond_the_model_layers() {
    let dir = setup();
    let config =
        "merge_method: passthrough\nslices:\n  - sources: [{model: a, layer_range: [0, 5]}]\n";
    let error = fails(&dir, config);
    assert!(
        matches!(&error, MergeError::Config { key, .. } if key.starts_with("slices[0]")),
        "{error:?}"
    );
}

#[test]
fn existing_output_is_not_replaced_without_overwrite() {
    let dir = setup();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("out/keep.txt"), "mine").unwrap();
    let error = merge(dir.path(), TASK_ARITHMETIC, &MergeOptions::default()).unwrap_err();
    assert!(matches!(&error, MergeError::Output { .. }), "{error:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        leftovers(dir.path(), &["base", "a", "b", "out"]),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn cancelled_merge_leaves_nothing() {
    use std::sync::atomic::AtomicBool;
    let dir = setup();
    std::fs::write(dir.path().join("merge.yml"), TASK_ARITHMETIC).unwrap();
    let spec = mixmerge::native::read_config(&dir.path().join("merge.yml")).unwrap();
    let prepared = mixmerge::native::prepare(spec, None).unwrap();
    let cancel = AtomicBool::new(true);
    let error = mixmerge::native::merge_to_folder(
        &prepared,
        &dir.path().join("out"),
        &MergeOptions::default(),
        &cancel,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(error, MergeError::Cancelled));
    assert!(leftovers(dir.path(), &INPUTS).is_empty());
}

#[test]
fn unreadable_config_file() {
    let dir = setup();
    let error = mixmerge::native::read_config(&dir.path().join("absent.yml")).unwrap_err();
    assert!(
        matches!(&error, MergeError::Io { path, .. } if path.contains("absent.yml")),
        "{error:?}"
    );
}

#[test]
fn yaml_syntax_error() {
    let dir = setup();
    let error = fails(&dir, "merge_method: [linear\n");
    assert!(matches!(&error, MergeError::Yaml(_)), "{error:?}");
}
