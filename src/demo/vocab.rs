//! The demo models' character-level vocabulary written as Hugging Face files: a `tokenizer.json`
//! (a BPE model without merges, so every character is a token; decoded by fusing) and the Llama
//! `config.json` that [`ArchConfig`](crate::model::ArchConfig) parses.

use serde_json::{json, Map, Value};

use super::tasks::{ALPHABET, END};

pub const UNK: &str = "<unk>";

/// The shape of a demo model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoShape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    /// Longest sequence trained and evaluated.
    pub context: usize,
}

impl DemoShape {
    /// The shipped demo models (≈0.86M parameters: small enough to train in minutes on 2 cores).
    pub const DEMO: DemoShape = DemoShape {
        hidden: 128,
        layers: 4,
        heads: 4,
        intermediate: 384,
        context: 384,
    };

    /// Weights in the model, embeddings and output head included.
    pub fn parameter_count(&self) -> usize {
        let (h, v) = (self.hidden, vocab_size());
        let block = 4 * h * h + 3 * h * self.intermediate + 2 * h;
        2 * v * h + self.layers * block + h
    }
}

/// `<unk>` then every character of [`ALPHABET`].
pub fn vocab_size() -> usize {
    1 + ALPHABET.chars().count()
}

/// The token id of `c`, when it has one.
pub fn token_of(c: char) -> Option<u32> {
    ALPHABET.chars().position(|a| a == c).map(|i| i as u32 + 1)
}

/// `tokenizer.json` for the character vocabulary.
pub fn tokenizer_json() -> Value {
    let mut vocab = Map::new();
    vocab.insert(UNK.into(), json!(0));
    for c in ALPHABET.chars() {
        vocab.insert(c.to_string(), json!(token_of(c)));
    }
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [{
            "id": 0, "content": UNK, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true
        }],
        "normalizer": null,
        "pre_tokenizer": null,
        "post_processor": null,
        "decoder": {"type": "Fuse"},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": UNK,
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": []
        }
    })
}

/// `config.json` of a Llama with `shape`; the end of an answer is its end-of-sequence token.
pub fn config_json(shape: &DemoShape) -> Value {
    let end = token_of(END).expect("END is in the alphabet");
    json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": shape.hidden,
        "intermediate_size": shape.intermediate,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.heads,
        "hidden_act": "silu",
        "vocab_size": vocab_size(),
        "max_position_embeddings": shape.context,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": false,
        "bos_token_id": end,
        "eos_token_id": end,
        "torch_dtype": "bfloat16"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArchConfig, TextTokenizer};

    #[test]
    fn the_tokenizer_maps_each_character_to_its_id_and_back() {
        let bytes = serde_json::to_vec(&tokenizer_json()).unwrap();
        let tokenizer = TextTokenizer::from_bytes("tokenizer.json", &bytes).unwrap();
        let text = "rev:abc=cba\n12+3=15\n";
        let ids = tokenizer.encode(text, false).unwrap();
        let expected: Vec<u32> = text.chars().map(|c| token_of(c).unwrap()).collect();
        assert_eq!(ids, expected);
        assert_eq!(tokenizer.decode(&ids).unwrap(), text);
        assert_eq!(tokenizer.vocab_size(), vocab_size());
    }

    #[test]
    fn the_config_parses_as_the_shape_it_was_written_for() {
        let shape = DemoShape::DEMO;
        let ArchConfig::Llama(c) = ArchConfig::parse(&config_json(&shape)).unwrap() else {
            panic!("not a Llama config");
        };
        assert_eq!(c.hidden_size, shape.hidden);
        assert_eq!(c.num_hidden_layers, shape.layers);
        assert_eq!(c.head_dim, shape.hidden / shape.heads);
        assert_eq!(c.vocab_size, vocab_size());
    }
}
