//! Generated tokens as text, piece by piece: the whole continuation is decoded after each token
//! and only the new suffix is handed out, so characters spanning several tokens stay intact.

use crate::error::Result;
use crate::model::TextTokenizer;

pub struct TextStream<'a> {
    tokenizer: &'a TextTokenizer,
    tokens: Vec<u32>,
    /// Bytes of the decoded continuation already handed out.
    shown: usize,
}

impl<'a> TextStream<'a> {
    pub fn new(tokenizer: &'a TextTokenizer) -> Self {
        TextStream {
            tokenizer,
            tokens: Vec::new(),
            shown: 0,
        }
    }

    /// Adds `token`; returns the text it completes (empty while a character is still partial).
    pub fn push(&mut self, token: u32) -> Result<String> {
        self.tokens.push(token);
        let text = self.tokenizer.decode(&self.tokens)?;
        if text.len() <= self.shown || !text.is_char_boundary(self.shown) {
            return Ok(String::new());
        }
        let piece = text[self.shown..].to_string();
        self.shown = text.len();
        Ok(piece)
    }

    /// The whole continuation decoded.
    pub fn text(&self) -> Result<String> {
        self.tokenizer.decode(&self.tokens)
    }
}
