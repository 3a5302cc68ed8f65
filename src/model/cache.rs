//! Keys and values of the tokens seen so far, per layer, so generation feeds one token at a time.

use burn::prelude::Tensor;

/// One `[kv_heads, tokens, head_dim]` key and value tensor per layer.
#[derive(Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<3>, Tensor<3>)>>,
    len: usize,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        KvCache {
            layers: vec![None; layers],
            len: 0,
        }
    }

    /// Tokens already in the cache: the position of the next token.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends the new tokens' `k`, `v` to `layer` and returns everything cached there.
    pub fn extend(&mut self, layer: usize, k: Tensor<3>, v: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let entry = match self.layers[layer].take() {
            Some((old_k, old_v)) => (
                Tensor::cat(vec![old_k, k], 1),
                Tensor::cat(vec![old_v, v], 1),
            ),
            None => (k, v),
        };
        self.layers[layer] = Some(entry.clone());
        entry
    }

    /// Records that a forward pass over `tokens` new tokens went through every layer.
    pub fn advance(&mut self, tokens: usize) {
        self.len += tokens;
    }
}
