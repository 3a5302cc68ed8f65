//! Whole merges from YAML to output folder: properties that must hold bit for bit.

use crate::common;

use common::*;
use mixmerge::dtype::DType;
use mixmerge::exec::ExecOptions;
use mixmerge::native::MergeOptions;

fn three_models(dtype: DType) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    llama_like(&dir.path().join("base"), 3, dtype, 0.0);
    llama_like(&dir.path().join("a"), 3, dtype, 1.0);
    llama_like(&dir.path().join("b"), 3, dtype, -2.0);
    dir
}

fn options() -> MergeOptions {
    MergeOptions::default()
}

#[test]
fn linear_weights_one_zero_return_model_a_exactly() {
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        let dir = three_models(dtype);
        let config = "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1.0}\n  - model: b\n    parameters: {weight: 0.0}\n";
        merge(dir.path(), config, &options()).unwrap();
        assert_eq!(
            read_all(&dir.path().join("out")),
            read_all(&dir.path().join("a")),
            "{dtype}"
        );
    }
}

#[test]
fn linear_matches_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    write_model(
        &dir.path().join("a"),
        &[tensor("w", DType::F32, &[2, 2], &[1.0, 2.0, 3.0, 4.0])],
    );
    write_model(
        &dir.path().join("b"),
        &[tensor("w", DType::F32, &[2, 2], &[3.0, 2.0, 1.0, -4.0])],
    );
    let config = "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 3}\n  - model: b\n    parameters: {weight: 1}\n";
    merge(dir.path(), config, &options()).unwrap();
    // (3·a + b) / 4
    assert_eq!(
        read_values(&dir.path().join("out"), "w"),
        [1.5, 2.0, 2.5, 2.0]
    );
}

#[test]
fn task_arithmetic_matches_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    write_model(
        &dir.path().join("base"),
        &[tensor("w", DType::F32, &[3], &[1.0, 1.0, 1.0])],
    );
    write_model(
        &dir.path().join("a"),
        &[tensor("w", DType::F32, &[3], &[2.0, 0.0, 1.0])],
    );
    write_model(
        &dir.path().join("b"),
        &[tensor("w", DType::F32, &[3], &[1.0, 5.0, -1.0])],
    );
    let config = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 0.5}\n  - model: b\n    parameters: {weight: 0.25}\nparameters: {lambda: 2.0}\n";
    merge(dir.path(), config, &options()).unwrap();
    // base + 2·(0.5·(1, −1, 0) + 0.25·(0, 4, −2))
    assert_eq!(read_values(&dir.path().join("out"), "w"), [2.0, 2.0, 0.0]);
}

#[test]
fn task_arithmetic_with_lambda_zero_returns_the_base() {
    let dir = three_models(DType::BF16);
    let config = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 0.7}\n  - model: b\n    parameters: {weight: 0.3}\nparameters: {lambda: 0}\n";
    merge(dir.path(), config, &options()).unwrap();
    assert_eq!(
        read_all(&dir.path().join("out")),
        read_all(&dir.path().join("base"))
    );
}

#[test]
fn results_do_not_depend_on_threads_or_chunk_size() {
    let dir = three_models(DType::BF16);
    // Methods without statistics, with a whole-tensor top-k, with a random mask, with norms.
    for method in ["task_arithmetic", "ties", "dare_ties", "della", "slerp"] {
        let config = match method {
            "slerp" => "merge_method: slerp\nbase_model: base\nmodels:\n  - model: a\nparameters: {t: 0.3}\n".to_string(),
            m => format!("merge_method: {m}\nbase_model: base\nmodels:\n  - model: a\n    parameters: {{weight: 0.6, density: 0.5}}\n  - model: b\n    parameters: {{weight: 0.3, density: 0.7}}\n"),
        };
        let mut reference = None;
        for (threads, chunk_elements) in [(1, 1 << 20), (2, 8), (4, 64), (3, 1)] {
            let options = MergeOptions {
                exec: ExecOptions {
                    threads,
                    chunk_elements,
                },
                overwrite: true,
                seed: Some(5),
                ..MergeOptions::default()
            };
            merge(dir.path(), &config, &options).unwrap();
            let out = read_all(&dir.path().join("out"));
            match &reference {
                None => reference = Some(out),
                Some(r) => assert_eq!(
                    &out, r,
                    "{method}: threads {threads}, chunk {chunk_elements}"
                ),
            }
        }
    }
}

#[test]
fn mixup_draws_a_recorded_reproducible_lambda() {
    let dir = three_models(DType::BF16);
    let config = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 0.5}\n  - model: b\n    parameters: {weight: 0.5}\nmixup: {alpha: 0.5, seed: 7}\n";
    let first = merge(dir.path(), config, &options()).unwrap();
    let lambda = first.mixup_lambda.expect("λ drawn");
    assert!((0.0..=1.0).contains(&lambda));
    let out = dir.path().join("out");
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.contains(&format!("{lambda:?}")), "{card}");
    let checkpoint = mixmerge::io::open_checkpoint(&out).unwrap();
    assert_eq!(checkpoint.metadata["mixup_lambda"], format!("{lambda:?}"));
    assert_eq!(checkpoint.metadata["merge_seed"], "7");

    // Same seed: same λ and bytes. The weights λ, 1 − λ are what was used.
    let again = MergeOptions {
        overwrite: true,
        ..options()
    };
    let bytes = read_all(&out);
    assert_eq!(
        merge(dir.path(), config, &again).unwrap().mixup_lambda,
        Some(lambda)
    );
    assert_eq!(read_all(&out), bytes);
    let explicit = format!(
        "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {{weight: {lambda:?}}}\n  - model: b\n    parameters: {{weight: {:?}}}\n",
        1.0 - lambda
    );
    merge(dir.path(), &explicit, &again).unwrap();
    assert_eq!(read_all(&out), bytes);

    // --seed overrides the config's seed.
    let seeded = MergeOptions {
        seed: Some(8),
        ..again
    };
    let other = merge(dir.path(), config, &seeded)
        .unwrap()
        .mixup_lambda
        .unwrap();
    assert_ne!(other, lambda);
}

#[test]
fn passthrough_frankenmerge_renumbers_layers() {
    let dir = tempfile::tempdir().unwrap();
    llama_like(&dir.path().join("m"), 4, DType::BF16, 0.0);
    let config = "merge_method: passthrough\nslices:\n  - sources: [{model: m, layer_range: [0, 3]}]\n  - sources: [{model: m, layer_range: [1, 4]}]\n";
    merge(dir.path(), config, &options()).unwrap();
    let out = read_all(&dir.path().join("out"));
    let input = read_all(&dir.path().join("m"));
    // Output layers 0,1,2 = input 0,1,2; output 3,4,5 = input 1,2,3.
    for (out_layer, in_layer) in [(0, 0), (1, 1), (2, 2), (3, 1), (4, 2), (5, 3)] {
        let name = |l: usize| format!("model.layers.{l}.self_attn.q_proj.weight");
        assert_eq!(
            out[&name(out_layer)],
            input[&name(in_layer)],
            "layer {out_layer}"
        );
    }
    assert_eq!(out.len(), 2 + 6 * 2);
    assert_eq!(
        out["model.embed_tokens.weight"],
        input["model.embed_tokens.weight"]
    );
    assert_eq!(out["model.norm.weight"], input["model.norm.weight"]);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["num_hidden_layers"], 6);
}

#[test]
fn sharded_output_has_index_and_same_tensors() {
    let dir = three_models(DType::BF16);
    let config = "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1}\n  - model: b\n    parameters: {weight: 1}\nout_dtype: float32\n";
    merge(dir.path(), config, &options()).unwrap();
    let whole = read_all(&dir.path().join("out"));
    let sharded = MergeOptions {
        max_shard_bytes: 300,
        ..options()
    };
    let out = dir.path().join("sharded");
    merge_into(dir.path(), config, &out, &sharded).unwrap();
    let shards: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("model-") && n.ends_with(".safetensors"))
        .collect();
    assert!(shards.len() > 1, "{shards:?}");
    let count = shards.len();
    assert!(
        shards.contains(&format!("model-00001-of-{count:05}.safetensors")),
        "{shards:?}"
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.safetensors.index.json")).unwrap())
            .unwrap();
    let total: u64 = whole.values().map(|(_, _, b)| b.len() as u64).sum();
    assert_eq!(index["metadata"]["total_size"].as_u64(), Some(total));
    assert_eq!(read_all(&out), whole);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["torch_dtype"], "float32");
}

#[test]
fn vocabulary_mismatch_uses_the_common_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |n: usize| (0..n * 2).map(|i| i as f32).collect::<Vec<_>>();
    write_model(
        &dir.path().join("a"),
        &[tensor(
            "model.embed_tokens.weight",
            DType::F32,
            &[4, 2],
            &rows(4),
        )],
    );
    write_model(
        &dir.path().join("b"),
        &[tensor(
            "model.embed_tokens.weight",
            DType::F32,
            &[3, 2],
            &rows(3),
        )],
    );
    let config = "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1}\n  - model: b\n    parameters: {weight: 1}\n";
    let report = merge(dir.path(), config, &options()).unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let out = read_all(&dir.path().join("out"));
    assert_eq!(out["model.embed_tokens.weight"].1, vec![3, 2]);
    assert_eq!(
        read_values(&dir.path().join("out"), "model.embed_tokens.weight"),
        rows(3)
    );
}

#[test]
fn output_folder_holds_config_tokenizer_and_card() {
    let dir = three_models(DType::BF16);
    std::fs::write(
        dir.path().join("base/tokenizer.json"),
        "{\"tokenizer\": true}",
    )
    .unwrap();
    let config = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 1}\n";
    let report = merge(dir.path(), config, &options()).unwrap();
    let out = dir.path().join("out");
    for file in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "README.md",
        "mergekit_config.yml",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
        assert!(
            report.files.iter().any(|f| f == file),
            "{file} not reported"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("mergekit_config.yml")).unwrap(),
        config
    );
    // Nothing but the output folder appears beside it.
    assert!(leftovers(dir.path(), &["base", "a", "b", "out"]).is_empty());
}

#[test]
fn cli_merges_and_reports() {
    let dir = three_models(DType::BF16);
    std::fs::write(
        dir.path().join("recipe.yml"),
        "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1}\n  - model: b\n    parameters: {weight: 1}\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mixmerge"))
        .args(["merge", "recipe.yml", "merged", "--json", "--quiet"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(report["tensors"], 8);
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(dir.path().join("merged/model.safetensors").exists());

    // Without the `gpu` feature, --device gpu is refused before any output exists.
    if !cfg!(feature = "gpu") {
        let gpu = std::process::Command::new(env!("CARGO_BIN_EXE_mixmerge"))
            .args(["merge", "recipe.yml", "merged2", "--device", "gpu"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!gpu.status.success());
        assert!(String::from_utf8_lossy(&gpu.stderr).contains("built without the GPU path"));
        assert!(!dir.path().join("merged2").exists());
    }
}
