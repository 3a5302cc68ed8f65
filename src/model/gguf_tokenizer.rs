//! A `tokenizers::Tokenizer` rebuilt from a GGUF's `tokenizer.ggml.*` metadata: byte-level BPE
//! (`gpt2`) with the pre-tokenizer llama.cpp's `tokenizer.ggml.pre` names, or SentencePiece BPE
//! (`llama`, gguf_sentencepiece.rs); control tokens as special tokens, BOS/EOS as the file asks.
//! No file access: the browser builds it too.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::{SpecialToken, TemplateProcessing};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::TextTokenizer;
use crate::error::{MergeError, Result};
use crate::io::gguf::GgufTokenizer;

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

impl TextTokenizer {
    /// The tokenizer a GGUF describes; `file` is the name errors will give.
    pub fn from_gguf(file: impl Into<String>, gguf: &GgufTokenizer) -> Result<Self> {
        let file = file.into();
        let inner = match gguf.model.as_str() {
            "gpt2" => byte_level_bpe(&file, gguf)?,
            "llama" => super::gguf_sentencepiece::sentencepiece_bpe(&file, gguf)?,
            other => {
                return Err(MergeError::Unsupported(format!(
                "{file}: GGUF tokenizer model `{other}` cannot be rebuilt (supported: gpt2, llama)"
            )))
            }
        };
        Ok(TextTokenizer::from_tokenizer(file, inner))
    }
}

pub(super) fn tokenizer_error(file: &str, reason: impl std::fmt::Display) -> MergeError {
    MergeError::Tokenizer {
        file: file.to_string(),
        reason: reason.to_string(),
    }
}

/// Token → id; a token listed twice keeps its first id.
pub(super) fn vocab_of(gguf: &GgufTokenizer) -> Vocab {
    let mut vocab = Vocab::with_capacity(gguf.tokens.len());
    for (id, token) in gguf.tokens.iter().enumerate() {
        vocab.entry(token.clone()).or_insert(id as u32);
    }
    vocab
}

/// `tokenizer.ggml.merges` ("left right") as pairs.
pub(super) fn merge_pairs(file: &str, merges: &[String]) -> Result<Vec<(String, String)>> {
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

fn byte_level_bpe(file: &str, gguf: &GgufTokenizer) -> Result<Tokenizer> {
    let pre = gguf.pre.as_deref();
    let splits = pre_tokenizer_splits(pre).ok_or_else(|| {
        MergeError::Unsupported(format!(
            "{file}: GGUF pre-tokenizer `{}` (tokenizer.ggml.pre) is not known to mixmerge",
            pre.unwrap_or_default()
        ))
    })?;
    let model = BPE::builder()
        .vocab_and_merges(vocab_of(gguf), merge_pairs(file, &gguf.merges)?)
        .build()
        .map_err(|e| tokenizer_error(file, e))?;
    let mut steps: Vec<PreTokenizerWrapper> = Vec::with_capacity(splits.len() + 1);
    for regex in splits {
        let split = Split::new(
            SplitPattern::Regex(regex.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| tokenizer_error(file, format!("pre-tokenizer regex: {e}")))?;
        steps.push(split.into());
    }
    // The regexes above already split; ByteLevel only maps bytes to its alphabet.
    steps.push(ByteLevel::new(false, true, false).into());
    let mut tokenizer = Tokenizer::new(model);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(steps)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    add_marked_tokens(&mut tokenizer, gguf);
    tokenizer.with_post_processor(Some(bos_eos_template(file, gguf)?));
    Ok(tokenizer)
}

/// Control tokens (`<|im_start|>`) as special tokens and user-defined ones as plain added
/// tokens, so both are matched whole in the text instead of cut into pieces.
pub(super) fn add_marked_tokens(tokenizer: &mut Tokenizer, gguf: &GgufTokenizer) {
    let Some(types) = &gguf.token_types else {
        return;
    };
    let marked = |wanted: i32, special: bool| -> Vec<AddedToken> {
        gguf.tokens
            .iter()
            .zip(types)
            .filter(|(_, &t)| t == wanted)
            .map(|(token, _)| AddedToken::from(token.clone(), special).normalized(false))
            .collect()
    };
    tokenizer.add_special_tokens(&marked(CONTROL, true));
    tokenizer.add_tokens(&marked(USER_DEFINED, false));
}

/// BOS before and EOS after the text, each when the file's `add_bos_token`/`add_eos_token` says.
pub(super) fn bos_eos_template(file: &str, gguf: &GgufTokenizer) -> Result<TemplateProcessing> {
    let bos = marker(file, gguf, "bos", gguf.add_bos_token, gguf.bos_token_id)?;
    let eos = marker(file, gguf, "eos", gguf.add_eos_token, gguf.eos_token_id)?;
    let mut pieces = Vec::new();
    let mut specials = Vec::new();
    if let Some((name, bos)) = bos {
        pieces.push(name);
        specials.push(bos);
    }
    pieces.push("$A".to_string());
    if let Some((name, eos)) = eos {
        pieces.push(name);
        specials.push(eos);
    }
    TemplateProcessing::builder()
        .try_single(pieces.join(" "))
        .map_err(|e| tokenizer_error(file, e))?
        .special_tokens(specials)
        .build()
        .map_err(|e| tokenizer_error(file, e))
}

/// The BOS or EOS token (`key`) as a template piece and its name, when `wanted`.
fn marker(
    file: &str,
    gguf: &GgufTokenizer,
    key: &str,
    wanted: Option<bool>,
    id: Option<u32>,
) -> Result<Option<(String, SpecialToken)>> {
    if wanted != Some(true) {
        return Ok(None);
    }
    let id = id.ok_or_else(|| MergeError::MalformedGguf {
        file: file.to_string(),
        reason: format!("tokenizer.ggml.add_{key}_token is set but {key}_token_id is missing"),
    })?;
    let (name, token) = (
        format!("[{}]", key.to_uppercase()),
        gguf.tokens[id as usize].clone(),
    );
    SpecialToken::new(name.clone(), vec![id], vec![token])
        .map(|special| Some((name, special)))
        .map_err(|e| tokenizer_error(file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Digits `1 2 3` that merge into `123`, a byte-level space `Ġ`, and a control token.
    fn digits(pre: &str) -> GgufTokenizer {
        let tokens = ["<s>", "1", "2", "3", "12", "123", "Ġ"];
        GgufTokenizer {
            model: "gpt2".into(),
            pre: Some(pre.into()),
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            scores: None,
            token_types: Some(vec![3, 1, 1, 1, 1, 1, 1]),
            merges: vec!["1 2".into(), "12 3".into()],
            bos_token_id: Some(0),
            eos_token_id: None,
            unknown_token_id: None,
            padding_token_id: None,
            add_bos_token: None,
            add_eos_token: None,
            add_space_prefix: None,
            chat_template: None,
        }
    }

    fn encode(gguf: &GgufTokenizer, text: &str) -> Vec<u32> {
        TextTokenizer::from_gguf("t.gguf", gguf)
            .unwrap()
            .encode(text, true)
            .unwrap()
    }

    #[test]
    fn the_pre_tokenizer_name_decides_how_digits_split() {
        for (pre, want) in [
            ("smollm", vec![1, 2, 3]),
            ("qwen2", vec![1, 2, 3]),
            ("gpt2", vec![5]),
            ("llama-bpe", vec![5]),
        ] {
            assert_eq!(encode(&digits(pre), "123"), want, "{pre}");
        }
        assert_eq!(encode(&digits("smollm"), " 12"), [6, 1, 2]);
        assert_eq!(encode(&digits("gpt2"), " 12<s>1"), [6, 4, 0, 1]);
    }

    #[test]
    fn bos_and_eos_are_added_when_the_file_asks() {
        let mut gguf = digits("gpt2");
        gguf.add_bos_token = Some(true);
        assert_eq!(encode(&gguf, "12"), [0, 4]);
        gguf.add_eos_token = Some(true);
        gguf.eos_token_id = Some(6);
        assert_eq!(encode(&gguf, "12"), [0, 4, 6]);
        gguf.eos_token_id = None;
        let error = TextTokenizer::from_gguf("t.gguf", &gguf).err().unwrap();
        assert!(error.to_string().contains("t.gguf"), "{error}");
    }
}
