//! A GGUF's `llama` tokenizer (SentencePiece BPE: pieces with scores, `▁` for spaces, bytes as
//! `<0xNN>` pieces) as a `tokenizers` BPE. The file has no merges: a pair of pieces merges when
//! their concatenation is a piece, the best-scored result first, as SentencePiece merges.

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::prepend::Prepend;
use tokenizers::normalizers::replace::Replace;
use tokenizers::normalizers::utils::Sequence as NormalizerSequence;
use tokenizers::Tokenizer;

use super::gguf_tokenizer::{add_marked_tokens, bos_eos_template, tokenizer_error, vocab_of};
use crate::error::{MergeError, Result};
use crate::io::gguf::GgufTokenizer;

/// SentencePiece's word-boundary mark, standing for a space.
const SPACE_MARK: &str = "\u{2581}";

pub(super) fn sentencepiece_bpe(file: &str, gguf: &GgufTokenizer) -> Result<Tokenizer> {
    let scores = gguf
        .scores
        .as_ref()
        .ok_or_else(|| MergeError::MalformedGguf {
            file: file.to_string(),
            reason: "tokenizer.ggml.scores is missing (a `llama` tokenizer needs them)".into(),
        })?;
    let vocab = vocab_of(gguf);
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab.clone(), merges_by_score(gguf, &vocab, scores))
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(unknown) = gguf.unknown_token_id {
        builder = builder.unk_token(gguf.tokens[unknown as usize].clone());
    }
    let model = builder.build().map_err(|e| tokenizer_error(file, e))?;
    let space = Replace::new(" ", SPACE_MARK).map_err(|e| tokenizer_error(file, e))?;
    let unspace = Replace::new(SPACE_MARK, " ").map_err(|e| tokenizer_error(file, e))?;
    // llama.cpp prefixes a space unless the file says not to.
    let prefix = gguf.add_space_prefix != Some(false);
    let mut normalizers = Vec::new();
    if prefix {
        normalizers.push(Prepend::new(SPACE_MARK.into()).into());
    }
    normalizers.push(space.into());
    let mut decoders = vec![
        unspace.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    let mut tokenizer = Tokenizer::new(model);
    tokenizer.with_normalizer(Some(NormalizerSequence::new(normalizers)));
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));
    add_marked_tokens(&mut tokenizer, gguf);
    tokenizer.with_post_processor(Some(bos_eos_template(file, gguf)?));
    Ok(tokenizer)
}

/// Every split of a piece into two pieces, best-scored piece first (a stable sort: equal scores
/// keep file order).
fn merges_by_score(gguf: &GgufTokenizer, vocab: &Vocab, scores: &[f32]) -> Vec<(String, String)> {
    let mut merges: Vec<(f32, &str, &str)> = Vec::new();
    for (id, piece) in gguf.tokens.iter().enumerate() {
        for (at, _) in piece.char_indices().skip(1) {
            let (left, right) = piece.split_at(at);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                merges.push((scores[id], left, right));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0));
    merges
        .into_iter()
        .map(|(_, left, right)| (left.to_string(), right.to_string()))
        .collect()
}
