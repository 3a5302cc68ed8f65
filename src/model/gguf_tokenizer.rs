//! A `tokenizers::Tokenizer` rebuilt from a GGUF's `tokenizer.ggml.*` metadata: the
//! `tokenizer.json` that `io::gguf::tokenizer_json` describes (the one a merge of GGUF inputs
//! writes), loaded by the `tokenizers` library. No file access: the browser builds it too.

use std::str::FromStr;

use tokenizers::Tokenizer;

use super::TextTokenizer;
use crate::error::{MergeError, Result};
use crate::io::gguf::{tokenizer_json, GgufTokenizer};

impl TextTokenizer {
    /// The tokenizer a GGUF describes; `file` is the name errors will give.
    pub fn from_gguf(file: impl Into<String>, gguf: &GgufTokenizer) -> Result<Self> {
        let file = file.into();
        let json = tokenizer_json(&file, gguf)?.to_string();
        let inner = Tokenizer::from_str(&json).map_err(|e| MergeError::Tokenizer {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Ok(TextTokenizer::from_tokenizer(file, inner))
    }
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
