//! mergekit's own example recipes (tests/fixtures/mergekit_examples, unchanged) merge small fakes
//! of the models they name, streamed from the hub emulator with an empty cache, into the same
//! bytes as the recipe pointed at local folders holding the same files.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::hub::{copy_folder, merge_hub, Emulator};
use mixmerge::bench::{write_synthetic_model, ModelShape};
use mixmerge::dtype::DType;
use mixmerge::io::{looks_like_hub_id, HubSettings};
use mixmerge::MergeError;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/mergekit_examples"
);

/// A real model family, with its real layer count and everything else as small as a merge allows.
#[derive(Clone, Copy)]
struct Family {
    model_type: &'static str,
    architecture: &'static str,
    dtype: DType,
    shape: ModelShape,
}

const fn small(name: &'static str, layers: usize, kv_heads: usize) -> ModelShape {
    ModelShape {
        name,
        hidden: 16,
        intermediate: 40,
        layers,
        vocab: 64,
        heads: 2,
        kv_heads,
        tied_embeddings: false,
    }
}

const LLAMA_2_13B: Family = Family {
    model_type: "llama",
    architecture: "LlamaForCausalLM",
    dtype: DType::F16,
    shape: small("llama-2-13b", 40, 2),
};

const MISTRAL_7B: Family = Family {
    model_type: "mistral",
    architecture: "MistralForCausalLM",
    dtype: DType::BF16,
    shape: small("mistral-7b", 32, 1),
};

/// Every model the examples name, its family and its synthetic variant (0: the family's base;
/// the others are the base plus a task vector of their own).
const FAKES: [(&str, Family, u32); 10] = [
    ("TheBloke/Llama-2-13B-fp16", LLAMA_2_13B, 0),
    ("psmathur/orca_mini_v3_13b", LLAMA_2_13B, 1),
    ("garage-bAInd/Platypus2-13B", LLAMA_2_13B, 2),
    ("WizardLM/WizardLM-13B-V1.2", LLAMA_2_13B, 3),
    ("WizardLM/WizardMath-13B-V1.0", LLAMA_2_13B, 4),
    ("mistralai/Mistral-7B-v0.1", MISTRAL_7B, 0),
    ("mistralai/Mistral-7B-Instruct-v0.2", MISTRAL_7B, 1),
    ("BioMistral/BioMistral-7B", MISTRAL_7B, 2),
    ("model_a", LLAMA_2_13B, 1),
    ("model_b", LLAMA_2_13B, 2),
];

/// Small enough that every fake is sharded with an index, as the real checkpoints are.
const FAKE_SHARD_BYTES: u64 = 100_000;

/// What each example must produce: its file, the output's layer count, architecture and dtype.
const EXPECTED: [(&str, usize, &str, &str); 6] = [
    ("arcee_fusion.yml", 40, "LlamaForCausalLM", "bfloat16"),
    ("bio-merge.yml", 32, "MistralForCausalLM", "float16"),
    ("gradient-slerp.yml", 40, "LlamaForCausalLM", "float16"),
    ("linear.yml", 40, "LlamaForCausalLM", "float16"),
    (
        "orcamini-platy-44layer.yml",
        44,
        "LlamaForCausalLM",
        "float16",
    ),
    ("ties.yml", 40, "LlamaForCausalLM", "float16"),
];

fn example(file: &str) -> String {
    std::fs::read_to_string(Path::new(EXAMPLES).join(file)).unwrap()
}

/// Every `model:` and `base_model:` a recipe names, first mention first.
fn model_references(recipe: &str) -> Vec<String> {
    fn walk(value: &serde_yaml::Value, out: &mut Vec<String>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                for (key, value) in map {
                    let names_a_model = matches!(key.as_str(), Some("model" | "base_model"));
                    match value.as_str() {
                        Some(name) if names_a_model && !out.iter().any(|o| o == name) => {
                            out.push(name.to_string());
                        }
                        _ => walk(value, out),
                    }
                }
            }
            serde_yaml::Value::Sequence(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_yaml::from_str(recipe).unwrap(), &mut out);
    out
}

/// Writes the fake of `reference` into `dir`: sharded safetensors, a config.json of its family
/// and a tokenizer naming it (so the test sees whose tokenizer the output carries).
fn write_fake(dir: &Path, reference: &str) {
    let (_, family, variant) = FAKES
        .iter()
        .find(|(name, ..)| *name == reference)
        .unwrap_or_else(|| panic!("no fake of `{reference}`: add it to FAKES"));
    write_synthetic_model(dir, &family.shape, family.dtype, *variant, FAKE_SHARD_BYTES).unwrap();
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["architectures"] = serde_json::json!([family.architecture]);
    config["model_type"] = family.model_type.into();
    config["torch_dtype"] = family.dtype.torch_name().into();
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let tokenizer = serde_json::json!({"model": {"type": "BPE"}, "fake_of": reference});
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
}

/// `fakes/<owner>--<name>`, where the rewritten recipe finds `reference` locally.
fn fake_folder(reference: &str) -> String {
    format!("./fakes/{}", reference.replace('/', "--"))
}

/// The recipe with every model reference replaced by its local folder (longest first, so an id
/// that is part of another is never replaced inside it).
fn pointed_at_fakes(recipe: &str, references: &[String]) -> String {
    let mut by_length: Vec<&String> = references.iter().collect();
    by_length.sort_by_key(|r| std::cmp::Reverse(r.len()));
    by_length
        .iter()
        .fold(recipe.to_string(), |text, reference| {
            text.replace(reference.as_str(), &fake_folder(reference))
        })
}

/// A merge folder's files and their bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The hub merge and the local merge of one example, in one temporary folder.
struct Merged {
    _dir: tempfile::TempDir,
    streamed: PathBuf,
    local: PathBuf,
}

/// Merges example `file` as written, hub ids streamed from the emulator (names that are not hub
/// ids are folders beside the recipe, as the example means them), then pointed at local folders.
fn merge_both_ways(file: &str) -> Merged {
    let recipe = example(file);
    let references = model_references(&recipe);
    let dir = tempfile::tempdir().unwrap();
    let hub_root = dir.path().join("hub");
    std::fs::create_dir_all(&hub_root).unwrap();
    for reference in &references {
        let fake = dir.path().join(fake_folder(reference));
        write_fake(&fake, reference);
        let served = if looks_like_hub_id(reference) {
            hub_root.join(reference)
        } else {
            dir.path().join(reference)
        };
        copy_folder(&fake, &served);
    }
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let hub = Emulator::start(&hub_root, &[]);
    let streamed = merge_hub(dir.path(), &recipe, &hub.settings(&cache), "hub")
        .unwrap_or_else(|e| panic!("{file} from the hub: {e}"));
    assert!(
        std::fs::read_dir(&cache).unwrap().next().is_none(),
        "{file}: streaming wrote into the cache"
    );
    let local_recipe = pointed_at_fakes(&recipe, &references);
    let no_hub = HubSettings::for_endpoint("http://127.0.0.1:9");
    let local = merge_hub(dir.path(), &local_recipe, &no_hub, "local")
        .unwrap_or_else(|e| panic!("{file} from local folders: {e}\n{local_recipe}"));
    Merged {
        _dir: dir,
        streamed,
        local,
    }
}

/// Runs example `file` both ways: the outputs' files are byte-identical, apart from the recipe
/// each records (as it was written) and the card naming its models.
fn check_example(file: &str) {
    let (_, layers, architecture, dtype) = EXPECTED.iter().find(|(f, ..)| *f == file).unwrap();
    let merged = merge_both_ways(file);
    let streamed = files(&merged.streamed);
    let local = files(&merged.local);
    let names = |files: &[(String, Vec<u8>)]| -> Vec<String> {
        files.iter().map(|(name, _)| name.clone()).collect()
    };
    assert_eq!(names(&streamed), names(&local), "{file}: output files");
    for ((name, ours), (_, expected)) in streamed.iter().zip(&local) {
        match name.as_str() {
            "README.md" => {}
            "mergekit_config.yml" => assert_eq!(ours, example(file).as_bytes(), "{file}: {name}"),
            _ => assert!(ours == expected, "{file}: {name} differs"),
        }
    }
    // The card names the hub models, so they were read from the hub, not from folders.
    let card = std::fs::read_to_string(merged.streamed.join("README.md")).unwrap();
    for reference in model_references(&example(file)) {
        if looks_like_hub_id(&reference) {
            let link = format!("](https://huggingface.co/{reference})");
            assert!(card.contains(&link), "{file}: {link} not in\n{card}");
        }
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(merged.streamed.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["num_hidden_layers"], *layers, "{file}");
    assert_eq!(config["architectures"][0], *architecture, "{file}");
    assert_eq!(config["torch_dtype"], *dtype, "{file}: the recipe's dtype");
}

#[test]
fn every_example_is_checked() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(EXAMPLES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml") || name.ends_with(".yaml"))
        .collect();
    let checked: BTreeSet<String> = EXPECTED.iter().map(|(f, ..)| f.to_string()).collect();
    assert_eq!(on_disk, checked);
}

#[test]
fn arcee_fusion() {
    check_example("arcee_fusion.yml");
}

#[test]
fn bio_merge() {
    check_example("bio-merge.yml");
}

#[test]
fn gradient_slerp() {
    check_example("gradient-slerp.yml");
}

#[test]
fn linear() {
    check_example("linear.yml");
}

#[test]
fn orcamini_platy_44layer() {
    check_example("orcamini-platy-44layer.yml");
}

#[test]
fn ties() {
    check_example("ties.yml");
}

/// mergekit reads `model_a` from the hub when no folder has that name (a repository without an
/// owner, as `gpt2` once was); mixmerge takes only `owner/name` as a hub id.
#[test]
fn a_name_without_an_owner_is_not_read_from_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub_root = dir.path().join("hub");
    write_fake(&hub_root.join("model_a"), "model_a");
    write_fake(&hub_root.join("model_b"), "model_b");
    let hub = Emulator::start(&hub_root, &[]);
    let err = merge_hub(
        dir.path(),
        &example("arcee_fusion.yml"),
        &hub.settings(&dir.path().join("cache")),
        "hub",
    )
    .unwrap_err();
    let missing = dir.path().join("model_a").display().to_string();
    assert!(
        matches!(&err, MergeError::ModelNotFound { path } if *path == missing),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{missing}: no checkpoint found (expected model.safetensors, model.safetensors.index.json, *.safetensors or one *.gguf)")
    );
}
