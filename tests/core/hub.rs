//! Hub models: recipes that name `owner/name[@revision]` merge from the local Hugging Face
//! cache, or streamed from a hub — here www/tests/hub-emulator.mjs on 127.0.0.1, with faults
//! injected — into outputs equal to the same merge from local folders; a changed, truncated or
//! gated file is an error naming it, before any output appears.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;

use common::*;
use mixmerge::dtype::DType;
use mixmerge::io::{HubSettings, INDEX_FILE};
use mixmerge::native::{merge_to_folder, prepare_with, read_config, MergeOptions};
use mixmerge::{MergeError, Result};

/// The emulator, serving `root` until dropped.
struct Emulator {
    child: Child,
    endpoint: String,
}

impl Emulator {
    fn start(root: &Path, flags: &[&str]) -> Emulator {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/tests/hub-emulator.mjs");
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_string());
        let mut child = Command::new(&node)
            .arg(&script)
            .arg(root)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("the hub tests need Node.js (`{node}`): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("emulator said {line:?}: {e}"));
        Emulator {
            child,
            endpoint: info["endpoint"].as_str().unwrap().to_string(),
        }
    }

    fn settings(&self, cache: &Path) -> HubSettings {
        HubSettings {
            cache: Some(cache.to_path_buf()),
            ..HubSettings::for_endpoint(&self.endpoint)
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

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

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

const RECIPE: &str = "merge_method: ties\nbase_model: BASE\nmodels:\n  - model: A\n    parameters: {weight: 0.6, density: 0.5}\n  - model: B\n    parameters: {weight: 0.4, density: 0.7}\ndtype: float32\n";

fn recipe(base: &str, a: &str, b: &str) -> String {
    RECIPE
        .replace("BASE", base)
        .replace("A\n", &format!("{a}\n"))
        .replace("B\n", &format!("{b}\n"))
}

const HUB_RECIPE: fn() -> String = || recipe("org/base", "org/a", "org/b@v2");

/// Merges `config` (written into `dir`) into `dir/out-<tag>`, models from `settings`' hub.
fn merge_hub(dir: &Path, config: &str, settings: &HubSettings, tag: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{tag}.yml"));
    std::fs::write(&path, config).unwrap();
    let prepared = prepare_with(read_config(&path)?, Some(7), settings)?;
    let out = dir.join(format!("out-{tag}"));
    merge_to_folder(
        &prepared,
        &out,
        &MergeOptions::default(),
        &AtomicBool::new(false),
        &mut |_| {},
    )?;
    Ok(out)
}

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
