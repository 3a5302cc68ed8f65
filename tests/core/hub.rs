//! Hub models: recipes that name `owner/name[@revision]` merge from the local Hugging Face
//! cache, or streamed from a hub — here www/tests/hub-emulator.mjs on 127.0.0.1, with faults
//! injected — into outputs equal to the same merge from local folders; a changed, truncated or
//! gated file is an error naming it, before any output appears.

use crate::common;

use std::path::{Path, PathBuf};

use common::hub::{copy_folder, merge_hub, Emulator};
use common::*;
use mixmerge::dtype::DType;
use mixmerge::io::{HubSettings, INDEX_FILE};
use mixmerge::MergeError;

/// The same three models as local folders (`local/`) and as hub repositories (`hub/`): `org/base`
/// (with tokenizer files), `org/a` in three shards, `org/b` at revision `v2` only.
fn models() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, hub, seed) in [
        ("base", "org/base", 0.0),
        ("a", "org/a", 1.0),
        ("b", "org/b@v2", 2.0),
    ] {
        let local = dir.path().join("local").join(name);
        llama_like(&local, 3, DType::BF16, seed);
        if name == "a" {
            let tensors: Vec<TensorSpec> = read_all(&local)
                .into_iter()
                .map(|(name, (dtype, shape, bytes))| {
                    let mut values = vec![0f32; bytes.len() / dtype.size()];
                    dtype.decode(&bytes, &mut values);
                    tensor(&name, dtype, &shape, &values)
                })
                .collect();
            std::fs::remove_file(local.join("model.safetensors")).unwrap();
            write_sharded_model(&local, &tensors, 300);
            assert!(local.join(INDEX_FILE).is_file());
        }
        if name == "base" {
            std::fs::write(
                local.join("tokenizer.json"),
                r#"{"model": {"type": "BPE"}}"#,
            )
            .unwrap();
            std::fs::write(
                local.join("generation_config.json"),
                r#"{"eos_token_id": 2}"#,
            )
            .unwrap();
        }
        copy_folder(&local, &dir.path().join("hub").join(hub));
    }
    std::fs::create_dir_all(dir.path().join("cache")).unwrap();
    dir
}

const RECIPE: &str = "merge_method: ties\nbase_model: BASE\nmodels:\n  - model: A\n    parameters: {weight: 0.6, density: 0.5}\n  - model: B\n    parameters: {weight: 0.4, density: 0.7}\ndtype: float32\n";

fn recipe(base: &str, a: &str, b: &str) -> String {
    RECIPE
        .replace("BASE", base)
        .replace("A\n", &format!("{a}\n"))
        .replace("B\n", &format!("{b}\n"))
}

const HUB_RECIPE: fn() -> String = || recipe("org/base", "org/a", "org/b@v2");

/// The merge from local folders, which every hub merge must equal.
fn local_merge(dir: &Path) -> PathBuf {
    let local = dir.join("local");
    let unreachable = HubSettings::for_endpoint("http://127.0.0.1:9");
    merge_hub(&local, &recipe("base", "a", "b"), &unreachable, "local").unwrap()
}

fn assert_same_output(ours: &Path, expected: &Path) {
    assert_eq!(read_all(ours), read_all(expected), "tensors differ");
    for file in ["config.json", "tokenizer.json", "generation_config.json"] {
        assert_eq!(
            std::fs::read(ours.join(file)).unwrap(),
            std::fs::read(expected.join(file)).unwrap(),
            "{file}"
        );
    }
}

fn no_output(dir: &Path, tag: &str) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name.contains(&format!("out-{tag}")))
        .collect();
    assert!(left.is_empty(), "output left behind: {left:?}");
}

#[test]
fn streamed_merge_equals_the_local_merge() {
    let dir = models();
    let expected = local_merge(dir.path());
    let hub = Emulator::start(&dir.path().join("hub"), &[]);
    let out = merge_hub(
        dir.path(),
        &HUB_RECIPE(),
        &hub.settings(&dir.path().join("cache")),
        "hub",
    )
    .unwrap();
    assert_same_output(&out, &expected);
    // The card in the hub's conventions: every hub input is a base_model of the merge.
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    let front = "---\nbase_model:\n- org/base\n- org/a\n- org/b\nlibrary_name: transformers\ntags:\n- mergekit\n- merge\n- mixmerge\nbase_model_relation: merge\n---\n";
    assert!(card.starts_with(front), "{card}");
    for part in [
        "### Merge Method",
        "`ties` ([TIES](https://arxiv.org/abs/2306.01708)) method, with [org/base](https://huggingface.co/org/base) as the base",
        "### Models Merged\n\n* [org/a](https://huggingface.co/org/a)\n* [org/b@v2](https://huggingface.co/org/b/tree/v2)\n",
        "### Configuration\n\n```yaml\nmerge_method: ties",
        "Seed 7; output dtype",
    ] {
        assert!(card.contains(part), "{part:?} not in\n{card}");
    }
}

#[test]
fn transient_faults_are_retried_and_resumed() {
    let dir = models();
    let expected = local_merge(dir.path());
    for fault in ["429", "500", "reset", "short"] {
        let hub = Emulator::start(&dir.path().join("hub"), &["--fault", fault, "--every", "2"]);
        let settings = hub.settings(&dir.path().join("cache"));
        let out = merge_hub(dir.path(), &HUB_RECIPE(), &settings, fault)
            .unwrap_or_else(|e| panic!("{fault}: {e}"));
        assert_same_output(&out, &expected);
    }
}

#[test]
fn a_fault_that_never_clears_names_the_file() {
    let dir = models();
    let hub = Emulator::start(&dir.path().join("hub"), &["--fault", "500", "--every", "1"]);
    let settings = HubSettings {
        attempts: 3,
        ..hub.settings(&dir.path().join("cache"))
    };
    let err = merge_hub(dir.path(), &HUB_RECIPE(), &settings, "down").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("org/base@main/model.safetensors")
            && text.contains("HTTP 500")
            && text.contains("3 tries"),
        "{text}"
    );
    no_output(dir.path(), "down");
}

#[test]
fn corrupted_bytes_fail_the_sha256_check() {
    let dir = models();
    let hub = Emulator::start(&dir.path().join("hub"), &["--corrupt"]);
    let err = merge_hub(
        dir.path(),
        &HUB_RECIPE(),
        &hub.settings(&dir.path().join("cache")),
        "bad",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("org/") && text.contains("sha256"), "{text}");
    no_output(dir.path(), "bad");
}

#[test]
fn a_truncated_file_is_an_error_naming_it() {
    let dir = models();
    let hub = Emulator::start(&dir.path().join("hub"), &["--truncate"]);
    let err = merge_hub(
        dir.path(),
        &HUB_RECIPE(),
        &hub.settings(&dir.path().join("cache")),
        "cut",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("org/base@main/model.safetensors") && text.contains("truncated"),
        "{text}"
    );
    no_output(dir.path(), "cut");
}

#[test]
fn gated_models_need_the_token() {
    let dir = models();
    let expected = local_merge(dir.path());
    let hub = Emulator::start(&dir.path().join("hub"), &["--token", "hf_secret"]);
    let settings = hub.settings(&dir.path().join("cache"));
    let err = merge_hub(dir.path(), &HUB_RECIPE(), &settings, "anon").unwrap_err();
    assert!(matches!(err, MergeError::HubReference { .. }), "{err:?}");
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    let with_token = HubSettings {
        token: Some("hf_secret".to_string()),
        ..settings
    };
    let out = merge_hub(dir.path(), &HUB_RECIPE(), &with_token, "token").unwrap();
    assert_same_output(&out, &expected);
}

#[test]
fn unknown_models_and_revisions_say_where_they_were_looked_for() {
    let dir = models();
    let hub = Emulator::start(&dir.path().join("hub"), &[]);
    let settings = hub.settings(&dir.path().join("cache"));
    for (reference, tag) in [
        ("org/nothing", "none"),
        ("org/b@v9", "norev"),
        ("org/b", "nomain"),
    ] {
        let err = merge_hub(
            dir.path(),
            &recipe("org/base", "org/a", reference),
            &settings,
            tag,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, MergeError::HubReference { .. }), "{err:?}");
        assert!(
            text.contains(reference)
                && text.contains("404")
                && text.contains("not in the Hugging Face cache"),
            "{text}"
        );
        no_output(dir.path(), tag);
    }
}

/// Lays `folder` out as the cache would hold `repo` at `revision` (commit `commit`).
fn cache_model(cache: &Path, repo: &str, revision: &str, commit: &str, folder: &Path) {
    let root = cache.join(format!("models--{}", repo.replace('/', "--")));
    copy_folder(folder, &root.join("snapshots").join(commit));
    std::fs::create_dir_all(root.join("refs")).unwrap();
    std::fs::write(root.join("refs").join(revision), commit).unwrap();
}

#[test]
fn cached_models_merge_without_the_network() {
    let dir = models();
    let expected = local_merge(dir.path());
    let cache = dir.path().join("cache");
    let local = dir.path().join("local");
    cache_model(
        &cache,
        "org/base",
        "main",
        &"1".repeat(40),
        &local.join("base"),
    );
    cache_model(&cache, "org/a", "main", &"2".repeat(40), &local.join("a"));
    cache_model(&cache, "org/b", "v2", &"3".repeat(40), &local.join("b"));
    // `main` of org/b is another model: the recipe's @v2 must pick the right one.
    cache_model(&cache, "org/b", "main", &"4".repeat(40), &local.join("a"));
    let offline = HubSettings {
        cache: Some(cache.clone()),
        offline: true,
        ..HubSettings::for_endpoint("http://127.0.0.1:9")
    };
    let out = merge_hub(dir.path(), &HUB_RECIPE(), &offline, "cached").unwrap();
    assert_same_output(&out, &expected);
    let pinned = recipe("org/base", "org/a", &format!("org/b@{}", "3".repeat(40)));
    let out = merge_hub(dir.path(), &pinned, &offline, "pinned").unwrap();
    assert_same_output(&out, &expected);
    // Offline, a model the cache lacks is refused, naming the cache.
    let err = merge_hub(
        dir.path(),
        &recipe("org/base", "org/a", "org/c"),
        &offline,
        "offline",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("org/c")
            && text.contains("HF_HUB_OFFLINE")
            && text.contains(&cache.display().to_string()),
        "{text}"
    );
}

#[test]
fn streamed_models_kept_with_cache_merge_offline_later() {
    let dir = models();
    let expected = local_merge(dir.path());
    let cache = dir.path().join("cache");
    let hub = Emulator::start(&dir.path().join("hub"), &[]);
    let keeping = HubSettings {
        keep_streamed: true,
        ..hub.settings(&cache)
    };
    let out = merge_hub(dir.path(), &HUB_RECIPE(), &keeping, "kept").unwrap();
    assert_same_output(&out, &expected);
    // The layout huggingface_hub writes: refs → commit, snapshot links → blobs by hash.
    let repo = cache.join("models--org--b");
    let commit = std::fs::read_to_string(repo.join("refs/v2")).unwrap();
    let weights = repo
        .join("snapshots")
        .join(&commit)
        .join("model.safetensors");
    let target = std::fs::read_link(&weights).unwrap();
    assert!(target.starts_with("../../blobs"), "{}", target.display());
    let local = std::fs::read(dir.path().join("local/b/model.safetensors")).unwrap();
    assert_eq!(std::fs::read(&weights).unwrap(), local);
    let blobs: Vec<_> = std::fs::read_dir(repo.join("blobs")).unwrap().collect();
    assert!(blobs.iter().all(|b| {
        let name = b.as_ref().unwrap().file_name();
        !name.to_string_lossy().ends_with(".incomplete")
    }));
    drop(hub);
    let offline = HubSettings {
        cache: Some(cache.clone()),
        offline: true,
        ..HubSettings::for_endpoint("http://127.0.0.1:9")
    };
    let out = merge_hub(dir.path(), &HUB_RECIPE(), &offline, "from-cache").unwrap();
    assert_same_output(&out, &expected);
}

#[test]
fn a_local_folder_of_the_same_name_wins() {
    let dir = models();
    let expected = local_merge(dir.path());
    // `org/b@v2` is not a folder name, so it stays a hub id; the other two are folders here.
    copy_folder(&dir.path().join("local/base"), &dir.path().join("org/base"));
    copy_folder(&dir.path().join("local/a"), &dir.path().join("org/a"));
    let hub = Emulator::start(&dir.path().join("hub"), &[]);
    let out = merge_hub(
        dir.path(),
        &HUB_RECIPE(),
        &hub.settings(&dir.path().join("cache")),
        "mixed",
    )
    .unwrap();
    assert_same_output(&out, &expected);
}

#[test]
fn a_gguf_streams_like_a_local_one() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf");
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("hub/org/tiny");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::copy(
        fixtures.join("tiny-llama.gguf"),
        repo.join("tiny-llama.gguf"),
    )
    .unwrap();
    let local = dir.path().join("tiny-llama.gguf");
    std::fs::copy(fixtures.join("tiny-llama.gguf"), &local).unwrap();
    let linear = "merge_method: linear\nmodels:\n  - model: M\n    parameters: {weight: 1.0}\ndtype: float32\n";
    let hub = Emulator::start(&dir.path().join("hub"), &[]);
    let settings = hub.settings(dir.path());
    let streamed = merge_hub(
        dir.path(),
        &linear.replace('M', "org/tiny"),
        &settings,
        "hub",
    )
    .unwrap();
    let expected = merge_hub(
        dir.path(),
        &linear.replace('M', "tiny-llama.gguf"),
        &settings,
        "local",
    )
    .unwrap();
    assert_eq!(read_all(&streamed), read_all(&expected));
    assert_eq!(
        std::fs::read(streamed.join("config.json")).unwrap(),
        std::fs::read(expected.join("config.json")).unwrap()
    );
}

/// Files of several 8 MiB blocks: headers are read by exact ranges, the blocks streamed and
/// hashed in order; a corrupted byte deep in a tensor fails the sha256 check at the file's end.
#[test]
fn files_of_many_blocks_stream_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 3 << 10;
    for (name, seed) in [("x", 1.0f32), ("y", -2.0)] {
        let values: Vec<f32> = (0..rows * 1024)
            .map(|i| seed * ((i % 977) as f32 / 977.0 - 0.5))
            .collect();
        let local = dir.path().join("local").join(name);
        write_model(
            &local,
            &[tensor(
                "model.embed_tokens.weight",
                DType::F32,
                &[rows, 1024],
                &values,
            )],
        );
        assert!(
            std::fs::metadata(local.join("model.safetensors"))
                .unwrap()
                .len()
                > 8 << 20
        );
        copy_folder(&local, &dir.path().join("hub/org").join(name));
    }
    let recipe = |x: &str, y: &str| {
        format!("merge_method: linear\nmodels:\n  - model: {x}\n    parameters: {{weight: 0.3}}\n  - model: {y}\n    parameters: {{weight: 0.7}}\ndtype: float32\n")
    };
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let expected = merge_hub(
        dir.path(),
        &recipe("local/x", "local/y"),
        &HubSettings::for_endpoint("http://127.0.0.1:9"),
        "local",
    )
    .unwrap();
    let hub = Emulator::start(&dir.path().join("hub"), &[]);
    let out = merge_hub(
        dir.path(),
        &recipe("org/x", "org/y"),
        &hub.settings(&cache),
        "hub",
    )
    .unwrap();
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).unwrap(),
        std::fs::read(expected.join("model.safetensors")).unwrap()
    );
    drop(hub);
    let corrupt = Emulator::start(&dir.path().join("hub"), &["--corrupt"]);
    let err = merge_hub(
        dir.path(),
        &recipe("org/x", "org/y"),
        &corrupt.settings(&cache),
        "bad",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("org/") && err.contains("sha256"), "{err}");
    assert!(!dir.path().join("out-bad").exists());
}
