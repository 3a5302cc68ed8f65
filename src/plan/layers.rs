//! Transformer layer numbering read from tensor names (`model.layers.7.mlp…`, `transformer.h.7…`).

/// Container names under which decoder blocks are numbered.
const LAYER_CONTAINERS: [&str; 4] = ["layers", "h", "blocks", "layer"];

/// The layer index in a tensor name, if it belongs to a numbered block.
pub fn layer_of(name: &str) -> Option<usize> {
    let parts: Vec<&str> = name.split('.').collect();
    parts.windows(2).find_map(|pair| {
        let is_index = !pair[1].is_empty() && pair[1].bytes().all(|b| b.is_ascii_digit());
        (LAYER_CONTAINERS.contains(&pair[0]) && is_index)
            .then(|| pair[1].parse().ok())
            .flatten()
    })
}

/// The same name with its layer index replaced (for renumbering frankenmerge layers).
pub fn with_layer(name: &str, layer: usize) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let position = parts.windows(2).position(|pair| {
        LAYER_CONTAINERS.contains(&pair[0])
            && !pair[1].is_empty()
            && pair[1].bytes().all(|b| b.is_ascii_digit())
    });
    match position {
        Some(p) => {
            let index = layer.to_string();
            let mut renamed: Vec<&str> = parts.clone();
            renamed[p + 1] = &index;
            renamed.join(".")
        }
        None => name.to_string(),
    }
}

/// Number of layers a model has, judged by its tensor names.
pub fn layer_count<'a>(names: impl IntoIterator<Item = &'a String>) -> usize {
    names
        .into_iter()
        .filter_map(|n| layer_of(n))
        .map(|l| l + 1)
        .max()
        .unwrap_or(0)
}

/// Position of layer `index` in `[0, 1]` among `count` layers (mergekit's gradient coordinate).
pub fn layer_position(index: usize, count: usize) -> f64 {
    if count <= 1 {
        0.0
    } else {
        index as f64 / (count - 1) as f64
    }
}

/// Tensors that sit before the blocks (embeddings); everything else outside blocks comes after.
pub fn is_pre_layer(name: &str) -> bool {
    name.contains("embed") || name.contains(".wte.") || name.contains(".wpe.")
}

/// Tensors whose row count follows the vocabulary (mergekit cuts these to the common rows).
pub fn is_vocab_sized(name: &str) -> bool {
    name.contains("embed_tokens") || name.contains("lm_head") || name.contains(".wte.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_replaces_layer_numbers() {
        assert_eq!(layer_of("model.layers.12.mlp.up_proj.weight"), Some(12));
        assert_eq!(layer_of("transformer.h.3.attn.c_attn.weight"), Some(3));
        assert_eq!(layer_of("model.embed_tokens.weight"), None);
        assert_eq!(layer_of("model.norm.weight"), None);
        assert_eq!(
            with_layer("model.layers.12.mlp.up_proj.weight", 40),
            "model.layers.40.mlp.up_proj.weight"
        );
        assert_eq!(with_layer("lm_head.weight", 3), "lm_head.weight");
        assert_eq!(layer_position(0, 1), 0.0);
        assert_eq!(layer_position(3, 7), 0.5);
    }
}
