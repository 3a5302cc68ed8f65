//! A GGUF's `tokenizer.ggml.*` metadata as Hugging Face tokenizer files: `tokenizer.json` (the
//! `tokenizers` library's format), `tokenizer_config.json` and `generation_config.json`, so a
//! merge of GGUF inputs is a folder transformers can tokenize with. Written here, without the
//! `tokenizers` crate, so the plain CLI writes them; evaluation (`model::gguf_tokenizer`) loads
//! the same JSON, so one description serves both.
//!
//! Byte-level BPE (`gpt2`) splits with the regexes llama.cpp's `tokenizer.ggml.pre` names;
//! SentencePiece BPE (`llama`) has no merges in the file: a pair of pieces merges when their
//! concatenation is a piece, the best-scored result first, as SentencePiece merges.

use serde_json::{json, Map, Value};

use super::GgufTokenizer;
use crate::error::{MergeError, Result};

/// GPT-2's split: contractions, letters, numbers, other symbols, whitespace runs.
const GPT2_SPLIT: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Llama 3's split: case-insensitive contractions, numbers in groups of up to three.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's split: as Llama 3's, but every digit alone.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// llama.cpp token types that become added tokens: control (special) and user-defined.
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

/// SentencePiece's word-boundary mark, standing for a space.
const SPACE_MARK: &str = "\u{2581}";

/// The regexes, applied in order, that llama.cpp's pre-tokenizer `pre` splits text with
/// (llama-vocab.cpp's table); `None` for names not listed here. A file without a name gets
/// GPT-2's split, the one byte-level BPE was made with.
pub fn pre_tokenizer_splits(pre: Option<&str>) -> Option<&'static [&'static str]> {
    Some(match pre.unwrap_or("gpt2") {
        "gpt2" | "mpt" | "olmo" | "jais" | "trillion" | "granite-docling" => &[GPT2_SPLIT],
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva" => {
            &[r"\p{N}", GPT2_SPLIT]
        }
        "llama-bpe" | "llama3" | "llama-v3" | "dbrx" | "smaug-bpe" | "falcon3" | "pixtral" => {
            &[LLAMA3_SPLIT]
        }
        "qwen2" | "stablelm2" | "deepseek-r1-qwen" => &[QWEN2_SPLIT],
        _ => return None,
    })
}

/// `tokenizer.json` for the tokenizer `gguf` describes; `file` is the name errors give.
/// [`MergeError::Unsupported`] for tokenizer models or pre-tokenizers not rebuilt here.
pub fn tokenizer_json(file: &str, gguf: &GgufTokenizer) -> Result<Value> {
    let (normalizer, pre_tokenizer, decoder, model) = match gguf.model.as_str() {
        "gpt2" => byte_level_bpe(file, gguf)?,
        "llama" => sentencepiece_bpe(file, gguf)?,
        other => {
            return Err(MergeError::Unsupported(format!(
                "{file}: GGUF tokenizer model `{other}` cannot be rebuilt (supported: gpt2, llama)"
            )))
        }
    };
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens(gguf),
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": bos_eos_template(file, gguf)?,
        "decoder": decoder,
        "model": model,
    }))
}

type Parts = (Value, Value, Value, Value);

fn byte_level_bpe(file: &str, gguf: &GgufTokenizer) -> Result<Parts> {
    let pre = gguf.pre.as_deref();
    let splits = pre_tokenizer_splits(pre).ok_or_else(|| {
        MergeError::Unsupported(format!(
            "{file}: GGUF pre-tokenizer `{}` (tokenizer.ggml.pre) is not known to mixmerge",
            pre.unwrap_or_default()
        ))
    })?;
    let mut steps: Vec<Value> = splits
        .iter()
        .map(|regex| {
            json!({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false})
        })
        .collect();
    // The regexes above already split; ByteLevel only maps bytes to its alphabet.
    steps.push(json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}));
    let merges = merge_pairs(file, &gguf.merges)?;
    Ok((
        Value::Null,
        json!({"type": "Sequence", "pretokenizers": steps}),
        json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}),
        bpe(gguf, merges, false, None),
    ))
}

fn sentencepiece_bpe(file: &str, gguf: &GgufTokenizer) -> Result<Parts> {
    let scores = gguf
        .scores
        .as_ref()
        .ok_or_else(|| MergeError::MalformedGguf {
            file: file.to_string(),
            reason: "tokenizer.ggml.scores is missing (a `llama` tokenizer needs them)".into(),
        })?;
    let unknown = match gguf.unknown_token_id {
        Some(id) => Some(token(file, gguf, "unknown", id)?.to_string()),
        None => None,
    };
    let replace = |from: &str, to: &str| json!({"type": "Replace", "pattern": {"String": from}, "content": to});
    // llama.cpp prefixes a space unless the file says not to.
    let prefix = gguf.add_space_prefix != Some(false);
    let mut normalizers = Vec::new();
    if prefix {
        normalizers.push(json!({"type": "Prepend", "prepend": SPACE_MARK}));
    }
    normalizers.push(replace(" ", SPACE_MARK));
    let mut decoders = vec![
        replace(SPACE_MARK, " "),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if prefix {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    Ok((
        json!({"type": "Sequence", "normalizers": normalizers}),
        Value::Null,
        json!({"type": "Sequence", "decoders": decoders}),
        bpe(gguf, merges_by_score(gguf, scores), true, unknown),
    ))
}

fn bpe(
    gguf: &GgufTokenizer,
    merges: Vec<(String, String)>,
    sentencepiece: bool,
    unknown: Option<String>,
) -> Value {
    let merges: Vec<Value> = merges.into_iter().map(|(l, r)| json!([l, r])).collect();
    json!({
        "type": "BPE",
        "dropout": null,
        "unk_token": unknown,
        "continuing_subword_prefix": null,
        "end_of_word_suffix": null,
        "fuse_unk": sentencepiece,
        "byte_fallback": sentencepiece,
        "ignore_merges": false,
        "vocab": vocab(gguf),
        "merges": merges,
    })
}

/// Token → id; a token listed twice keeps its first id.
fn vocab(gguf: &GgufTokenizer) -> Map<String, Value> {
    let mut vocab = Map::with_capacity(gguf.tokens.len());
    for (id, token) in gguf.tokens.iter().enumerate() {
        vocab.entry(token.clone()).or_insert(json!(id));
    }
    vocab
}

/// `tokenizer.ggml.merges` ("left right") as pairs.
fn merge_pairs(file: &str, merges: &[String]) -> Result<Vec<(String, String)>> {
    merges
        .iter()
        .enumerate()
        .map(|(i, merge)| match merge.split_once(' ') {
            Some((left, right)) if !left.is_empty() && !right.is_empty() => {
                Ok((left.to_string(), right.to_string()))
            }
            _ => Err(MergeError::MalformedGguf {
                file: file.to_string(),
                reason: format!("tokenizer.ggml.merges item {i} `{merge}` is not `left right`"),
            }),
        })
        .collect()
}

/// Every split of a piece into two pieces, best-scored piece first (a stable sort: equal scores
/// keep file order).
fn merges_by_score(gguf: &GgufTokenizer, scores: &[f32]) -> Vec<(String, String)> {
    let known: std::collections::HashSet<&str> = gguf.tokens.iter().map(String::as_str).collect();
    let mut merges: Vec<(f32, &str, &str)> = Vec::new();
    for (id, piece) in gguf.tokens.iter().enumerate() {
        for (at, _) in piece.char_indices().skip(1) {
            let (left, right) = piece.split_at(at);
            if known.contains(left) && known.contains(right) {
                merges.push((scores.get(id).copied().unwrap_or(0.0), left, right));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0));
    merges
        .into_iter()
        .map(|(_, left, right)| (left.to_string(), right.to_string()))
        .collect()
}

/// Control tokens (`<|im_start|>`) as special tokens and user-defined ones as plain added
/// tokens, so both are matched whole in the text instead of cut into pieces.
fn added_tokens(gguf: &GgufTokenizer) -> Vec<Value> {
    let Some(types) = &gguf.token_types else {
        return Vec::new();
    };
    // A token listed twice is added once, with its first id (as the vocabulary has it).
    let mut first_ids = std::collections::HashMap::with_capacity(gguf.tokens.len());
    for (id, token) in gguf.tokens.iter().enumerate() {
        first_ids.entry(token.as_str()).or_insert(id);
    }
    let mut added = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (token, &kind) in gguf.tokens.iter().zip(types) {
        if (kind == CONTROL || kind == USER_DEFINED) && seen.insert(token.as_str()) {
            added.push(json!({
                "id": first_ids[token.as_str()],
                "content": token,
                "single_word": false,
                "lstrip": false,
                "rstrip": false,
                "normalized": false,
                "special": kind == CONTROL,
            }));
        }
    }
    added
}

/// The token with `id`, or an error naming `what` it was meant to be.
fn token<'a>(file: &str, gguf: &'a GgufTokenizer, what: &str, id: u32) -> Result<&'a str> {
    gguf.tokens
        .get(id as usize)
        .map(String::as_str)
        .ok_or_else(|| MergeError::MalformedGguf {
            file: file.to_string(),
            reason: format!(
                "the {what} token id {id} is past the vocabulary ({} tokens)",
                gguf.tokens.len()
            ),
        })
}

/// BOS before and EOS after the text, each when the file's `add_bos_token`/`add_eos_token` says.
fn bos_eos_template(file: &str, gguf: &GgufTokenizer) -> Result<Value> {
    let bos = marker(file, gguf, "bos", gguf.add_bos_token, gguf.bos_token_id)?;
    let eos = marker(file, gguf, "eos", gguf.add_eos_token, gguf.eos_token_id)?;
    let sequence = |id: &str, type_id: u32| json!({"Sequence": {"id": id, "type_id": type_id}});
    let special =
        |name: &str, type_id: u32| json!({"SpecialToken": {"id": name, "type_id": type_id}});
    let mut specials = Map::new();
    let (mut single, mut pair) = (Vec::new(), Vec::new());
    for (text, type_id) in [("A", 0), ("B", 1)] {
        let pieces = if type_id == 0 { &mut single } else { &mut pair };
        if let Some((name, _, _)) = &bos {
            pieces.push(special(name, type_id));
        }
        pieces.push(sequence(text, type_id));
        if let Some((name, _, _)) = &eos {
            pieces.push(special(name, type_id));
        }
    }
    let pair: Vec<Value> = single.iter().cloned().chain(pair).collect();
    for (name, id, token) in bos.iter().chain(eos.iter()) {
        specials.insert(
            name.clone(),
            json!({"id": name, "ids": [id], "tokens": [token]}),
        );
    }
    Ok(json!({
        "type": "TemplateProcessing",
        "single": single,
        "pair": pair,
        "special_tokens": specials,
    }))
}

/// The BOS or EOS token (`key`) as a template name, id and text, when `wanted`.
fn marker(
    file: &str,
    gguf: &GgufTokenizer,
    key: &str,
    wanted: Option<bool>,
    id: Option<u32>,
) -> Result<Option<(String, u32, String)>> {
    if wanted != Some(true) {
        return Ok(None);
    }
    let id = id.ok_or_else(|| MergeError::MalformedGguf {
        file: file.to_string(),
        reason: format!("tokenizer.ggml.add_{key}_token is set but {key}_token_id is missing"),
    })?;
    let text = token(file, gguf, key, id)?.to_string();
    Ok(Some((format!("[{}]", key.to_uppercase()), id, text)))
}

/// `tokenizer_config.json`: the special tokens, whether BOS/EOS are added, the chat template,
/// and every added token by id, as transformers writes it for a fast tokenizer.
pub fn tokenizer_config_json(file: &str, gguf: &GgufTokenizer) -> Result<Value> {
    let mut config = Map::new();
    let mut decoder = Map::new();
    for added in added_tokens(gguf) {
        let id = added["id"].to_string();
        let mut entry = added.as_object().cloned().unwrap_or_default();
        entry.remove("id");
        decoder.insert(id, Value::Object(entry));
    }
    config.insert("added_tokens_decoder".into(), Value::Object(decoder));
    config.insert(
        "add_bos_token".into(),
        json!(gguf.add_bos_token == Some(true)),
    );
    config.insert(
        "add_eos_token".into(),
        json!(gguf.add_eos_token == Some(true)),
    );
    for (key, id) in [
        ("bos_token", gguf.bos_token_id),
        ("eos_token", gguf.eos_token_id),
        ("unk_token", gguf.unknown_token_id),
        ("pad_token", gguf.padding_token_id),
    ] {
        if let Some(id) = id {
            config.insert(key.into(), json!(token(file, gguf, key, id)?));
        }
    }
    if let Some(template) = &gguf.chat_template {
        config.insert("chat_template".into(), json!(template));
    }
    config.insert("clean_up_tokenization_spaces".into(), json!(false));
    config.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
    Ok(Value::Object(config))
}

/// `generation_config.json`: the ids generation starts and stops with.
pub fn generation_config_json(gguf: &GgufTokenizer) -> Value {
    let mut config = Map::new();
    config.insert("_from_model_config".into(), json!(true));
    for (key, id) in [
        ("bos_token_id", gguf.bos_token_id),
        ("eos_token_id", gguf.eos_token_id),
        ("pad_token_id", gguf.padding_token_id),
    ] {
        if let Some(id) = id {
            config.insert(key.into(), json!(id));
        }
    }
    Value::Object(config)
}
