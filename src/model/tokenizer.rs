//! Text ↔ token ids through a Hugging Face `tokenizer.json` (the `tokenizers` crate, built with
//! fancy-regex instead of onig so the same code compiles for the browser).

use tokenizers::Tokenizer;

use crate::error::{MergeError, Result};

#[derive(Clone)]
pub struct TextTokenizer {
    name: String,
    inner: Tokenizer,
}

impl TextTokenizer {
    /// Parses the bytes of a `tokenizer.json`; `name` is the file errors will name.
    pub fn from_bytes(name: impl Into<String>, bytes: &[u8]) -> Result<Self> {
        let name = name.into();
        let inner = Tokenizer::from_bytes(bytes).map_err(|e| MergeError::Tokenizer {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        Ok(TextTokenizer { name, inner })
    }

    /// Wraps a tokenizer built in code (from GGUF metadata); `name` is the file errors will name.
    pub(crate) fn from_tokenizer(name: impl Into<String>, inner: Tokenizer) -> Self {
        TextTokenizer {
            name: name.into(),
            inner,
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| MergeError::io(path.display(), e))?;
        Self::from_bytes(path.display().to_string(), &bytes)
    }

    /// Token ids of `text`; `add_special_tokens` adds what the tokenizer's template adds (BOS).
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| self.error(e))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| self.error(e))
    }

    /// Every id the tokenizer can produce, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of a token string such as `</s>` or `<|endoftext|>`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    fn error(&self, e: tokenizers::Error) -> MergeError {
        MergeError::Tokenizer {
            file: self.name.clone(),
            reason: e.to_string(),
        }
    }
}
