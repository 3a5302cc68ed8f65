//! GGUF tensor names → Hugging Face names, and llama.cpp's Q/K row order → the HF row order.

/// Names outside blocks, as llama.cpp's converter writes them for Llama-like models.
const GLOBAL_NAMES: [(&str, &str); 3] = [
    ("token_embd", "model.embed_tokens"),
    ("output_norm", "model.norm"),
    ("output", "lm_head"),
];

/// Per-layer names: `blk.N.<gguf>` ↔ `model.layers.N.<hf>`.
const LAYER_NAMES: [(&str, &str); 9] = [
    ("attn_norm", "input_layernorm"),
    ("attn_q", "self_attn.q_proj"),
    ("attn_k", "self_attn.k_proj"),
    ("attn_v", "self_attn.v_proj"),
    ("attn_output", "self_attn.o_proj"),
    ("ffn_norm", "post_attention_layernorm"),
    ("ffn_gate", "mlp.gate_proj"),
    ("ffn_up", "mlp.up_proj"),
    ("ffn_down", "mlp.down_proj"),
];

/// Architectures whose converter permutes Q/K rows for ggml's interleaved ("normal") RoPE.
const PERMUTED_ARCHITECTURES: [&str; 1] = ["llama"];

/// The HF name of a GGUF tensor, or `None` for tensors HF checkpoints do not have under a
/// known name (those keep their GGUF name).
pub fn hf_name(gguf_name: &str) -> Option<String> {
    let (stem, suffix) = gguf_name.rsplit_once('.')?;
    if let Some((_, hf)) = GLOBAL_NAMES.iter().find(|(g, _)| *g == stem) {
        return Some(format!("{hf}.{suffix}"));
    }
    let rest = stem.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    layer.parse::<usize>().ok()?;
    let (_, hf) = LAYER_NAMES.iter().find(|(g, _)| *g == part)?;
    Some(format!("model.layers.{layer}.{hf}.{suffix}"))
}

/// How many heads to un-permute `gguf_name` over, if it is a permuted Q or K projection.
pub fn permuted_heads(
    architecture: &str,
    gguf_name: &str,
    heads: usize,
    kv_heads: usize,
) -> Option<usize> {
    if !PERMUTED_ARCHITECTURES.contains(&architecture) {
        return None;
    }
    let stem = gguf_name.rsplit_once('.')?.0;
    let part = stem.strip_prefix("blk.")?.split_once('.')?.1;
    match part {
        "attn_q" => Some(heads),
        "attn_k" => Some(kv_heads),
        _ => None,
    }
}

/// llama.cpp stores each head's rows as (pairs, 2) where HF has (2, pairs): HF row
/// `h·d + i·d/2 + j` is GGUF row `h·d + 2j + i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPermutation {
    pub head_rows: usize,
}

impl RowPermutation {
    /// `rows` split over `heads`; `None` when the rows are not whole heads of even size.
    pub fn new(rows: usize, heads: usize) -> Option<Self> {
        (heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0).then(|| RowPermutation {
            head_rows: rows / heads,
        })
    }

    /// The GGUF row holding HF row `row`.
    pub fn gguf_row(self, row: usize) -> usize {
        let half = self.head_rows / 2;
        let (head, within) = (row / self.head_rows, row % self.head_rows);
        let (i, j) = (within / half, within % half);
        head * self.head_rows + 2 * j + i
    }

    /// The first GGUF row of the head holding `row`, and one past the last.
    pub fn head_span(self, row: usize) -> (usize, usize) {
        let head = row / self.head_rows;
        (head * self.head_rows, (head + 1) * self.head_rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_names_map_to_hf() {
        let cases = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            (
                "blk.0.attn_q.weight",
                "model.layers.0.self_attn.q_proj.weight",
            ),
            (
                "blk.12.attn_k.bias",
                "model.layers.12.self_attn.k_proj.bias",
            ),
            (
                "blk.3.ffn_down.weight",
                "model.layers.3.mlp.down_proj.weight",
            ),
            (
                "blk.3.ffn_norm.weight",
                "model.layers.3.post_attention_layernorm.weight",
            ),
        ];
        for (gguf, hf) in cases {
            assert_eq!(hf_name(gguf).as_deref(), Some(hf), "{gguf}");
        }
        for unknown in [
            "rope_freqs.weight",
            "blk.x.attn_q.weight",
            "blk.1.ssm_a",
            "weird",
        ] {
            assert_eq!(hf_name(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn only_llama_q_and_k_are_permuted() {
        assert_eq!(
            permuted_heads("llama", "blk.1.attn_q.weight", 9, 3),
            Some(9)
        );
        assert_eq!(
            permuted_heads("llama", "blk.1.attn_k.weight", 9, 3),
            Some(3)
        );
        assert_eq!(permuted_heads("llama", "blk.1.attn_v.weight", 9, 3), None);
        assert_eq!(permuted_heads("qwen2", "blk.1.attn_q.weight", 9, 3), None);
    }

    #[test]
    fn permutation_is_a_bijection_within_each_head() {
        let perm = RowPermutation::new(12, 2).unwrap();
        let rows: Vec<usize> = (0..12).map(|r| perm.gguf_row(r)).collect();
        assert_eq!(rows, [0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11]);
        assert_eq!(perm.head_span(7), (6, 12));
        assert!(RowPermutation::new(12, 5).is_none());
        assert!(RowPermutation::new(6, 2).is_none());
    }
}
