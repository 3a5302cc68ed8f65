//! Llama-shaped synthetic checkpoints for benchmarks: the real tensor names and shapes of common
//! model sizes, filled with deterministic pseudo-random values.

use crate::dtype::DType;
use crate::io::OutputTensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    pub name: &'static str,
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub vocab: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub tied_embeddings: bool,
}

pub const SHAPES: [ModelShape; 5] = [
    ModelShape {
        name: "tiny",
        hidden: 64,
        intermediate: 176,
        layers: 4,
        vocab: 512,
        heads: 4,
        kv_heads: 2,
        tied_embeddings: false,
    },
    // SmolLM2-135M (the size the browser playground is measured at)
    ModelShape {
        name: "135m",
        hidden: 576,
        intermediate: 1536,
        layers: 30,
        vocab: 49_152,
        heads: 9,
        kv_heads: 3,
        tied_embeddings: true,
    },
    // Llama 3.2 1B
    ModelShape {
        name: "1b",
        hidden: 2048,
        intermediate: 8192,
        layers: 16,
        vocab: 128_256,
        heads: 32,
        kv_heads: 8,
        tied_embeddings: true,
    },
    // Llama 2 7B
    ModelShape {
        name: "7b",
        hidden: 4096,
        intermediate: 11_008,
        layers: 32,
        vocab: 32_000,
        heads: 32,
        kv_heads: 32,
        tied_embeddings: false,
    },
    // Llama 2 13B
    ModelShape {
        name: "13b",
        hidden: 5120,
        intermediate: 13_824,
        layers: 40,
        vocab: 32_000,
        heads: 40,
        kv_heads: 40,
        tied_embeddings: false,
    },
];

impl ModelShape {
    pub fn by_name(name: &str) -> Option<Self> {
        SHAPES.into_iter().find(|s| s.name == name)
    }

    /// Tensors in Hugging Face order and naming.
    pub fn tensors(&self, dtype: DType) -> Vec<OutputTensor> {
        let head_dim = self.hidden / self.heads;
        let kv = self.kv_heads * head_dim;
        let t = |name: String, shape: Vec<usize>| OutputTensor { name, dtype, shape };
        let mut out = vec![t(
            "model.embed_tokens.weight".into(),
            vec![self.vocab, self.hidden],
        )];
        for l in 0..self.layers {
            let p = format!("model.layers.{l}");
            out.push(t(format!("{p}.input_layernorm.weight"), vec![self.hidden]));
            out.push(t(
                format!("{p}.self_attn.q_proj.weight"),
                vec![self.hidden, self.hidden],
            ));
            out.push(t(
                format!("{p}.self_attn.k_proj.weight"),
                vec![kv, self.hidden],
            ));
            out.push(t(
                format!("{p}.self_attn.v_proj.weight"),
                vec![kv, self.hidden],
            ));
            out.push(t(
                format!("{p}.self_attn.o_proj.weight"),
                vec![self.hidden, self.hidden],
            ));
            out.push(t(
                format!("{p}.post_attention_layernorm.weight"),
                vec![self.hidden],
            ));
            out.push(t(
                format!("{p}.mlp.gate_proj.weight"),
                vec![self.intermediate, self.hidden],
            ));
            out.push(t(
                format!("{p}.mlp.up_proj.weight"),
                vec![self.intermediate, self.hidden],
            ));
            out.push(t(
                format!("{p}.mlp.down_proj.weight"),
                vec![self.hidden, self.intermediate],
            ));
        }
        out.push(t("model.norm.weight".into(), vec![self.hidden]));
        if !self.tied_embeddings {
            out.push(t("lm_head.weight".into(), vec![self.vocab, self.hidden]));
        }
        out
    }

    pub fn parameter_count(&self) -> usize {
        self.tensors(DType::BF16)
            .iter()
            .map(|t| t.shape.iter().product::<usize>())
            .sum()
    }

    /// A config.json for the shape, so outputs look like real model folders.
    pub fn config_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "vocab_size": self.vocab,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "tie_word_embeddings": self.tied_embeddings,
            "torch_dtype": "bfloat16",
        })
    }
}
