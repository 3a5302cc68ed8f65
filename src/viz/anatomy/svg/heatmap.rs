//! Cosine similarity and sign-conflict rate of every expert pair: one row per tensor, a bold
//! summary row per layer, an overall row; one column per pair for each figure.

use super::{blend, hex, rect, text, two_decimals};
use crate::viz::anatomy::{Anatomy, PairFigures};

const LABEL_WIDTH: f64 = 200.0;
/// Narrowest cell; wider when model names are long.
const MIN_CELL_WIDTH: f64 = 64.0;
const ROW: f64 = 14.0;
const GAP: f64 = 12.0;
const WHITE: [u8; 3] = [255, 255, 255];
const POSITIVE: [u8; 3] = [178, 24, 43];
const NEGATIVE: [u8; 3] = [33, 102, 172];
const CONFLICT: [u8; 3] = [230, 97, 1];

/// Draws at (x, y); returns (width, height).
pub fn draw(out: &mut String, anatomy: &Anatomy, x: f64, y: f64) -> (f64, f64) {
    let pairs = anatomy.pairs.len();
    let longest = anatomy
        .models
        .iter()
        .map(|m| m.chars().count())
        .max()
        .unwrap_or(0);
    let cell_width = MIN_CELL_WIDTH.max(6.0 * longest as f64 + 16.0);
    // Colour saturates at the largest |cosine| shown (task vectors are often near-orthogonal).
    let cosine_scale = anatomy
        .tensors
        .iter()
        .flat_map(|t| &t.pairs)
        .filter_map(|p| p.cosine)
        .fold(0.05f64, |m, c| m.max(c.abs()));
    let conflict_x = x + LABEL_WIDTH + pairs as f64 * cell_width + GAP;
    let width = LABEL_WIDTH + 2.0 * pairs as f64 * cell_width + GAP;
    text(
        out,
        x,
        y + 12.0,
        13.0,
        "bold",
        "Cosine similarity and sign conflicts of task vectors",
    );
    let legend = format!(
        "cosine: blue −{cosine_scale:.2} … white 0 … red +{cosine_scale:.2}; sign conflict: share of \
         elements where both are non-zero and the signs differ (0.5 = unrelated signs)"
    );
    text(out, x, y + 27.0, 10.0, "normal", &legend);
    let mut row_y = y + 36.0;
    for (i, [a, b]) in anatomy.pairs.iter().enumerate() {
        for (column_x, kind) in [(x + LABEL_WIDTH, "cosine"), (conflict_x, "conflict")] {
            let cx = column_x + i as f64 * cell_width;
            text(out, cx + 2.0, row_y + 10.0, 9.0, "bold", kind);
            text(out, cx + 2.0, row_y + 21.0, 9.0, "normal", a);
            text(
                out,
                cx + 2.0,
                row_y + 32.0,
                9.0,
                "normal",
                &format!("× {b}"),
            );
        }
    }
    row_y += 38.0;
    let mut row = |out: &mut String, label: &str, figures: &[PairFigures], bold: bool| {
        let weight = if bold { "bold" } else { "normal" };
        text(out, x, row_y + ROW - 3.0, 10.0, weight, label);
        for (i, f) in figures.iter().enumerate() {
            let cos_fill = match f.cosine {
                Some(c) if c >= 0.0 => blend(WHITE, POSITIVE, c / cosine_scale),
                Some(c) => blend(WHITE, NEGATIVE, -c / cosine_scale),
                None => [240, 240, 240],
            };
            let conflict_fill = f
                .conflict
                .map_or([240, 240, 240], |c| blend(WHITE, CONFLICT, c));
            for (column_x, fill, value) in [
                (x + LABEL_WIDTH, cos_fill, f.cosine),
                (conflict_x, conflict_fill, f.conflict),
            ] {
                let cx = column_x + i as f64 * cell_width;
                let tip = format!(
                    "{label}: {}",
                    value.map_or("undefined".into(), |v| v.to_string())
                );
                rect(
                    out,
                    cx,
                    row_y,
                    cell_width - 1.0,
                    ROW - 1.0,
                    &hex(fill),
                    Some(&tip),
                );
                text(
                    out,
                    cx + 4.0,
                    row_y + ROW - 3.0,
                    9.0,
                    weight,
                    &two_decimals(value),
                );
            }
        }
        row_y += ROW;
    };
    for layer in &anatomy.layers {
        let name = layer
            .layer
            .map_or("other tensors".to_string(), |l| format!("layer {l}"));
        row(
            out,
            &format!("{name} (all {} tensors)", layer.tensors),
            &layer.pairs,
            true,
        );
        for tensor in anatomy.tensors.iter().filter(|t| t.layer == layer.layer) {
            row(
                out,
                &format!("  {}", short_name(&tensor.name)),
                &tensor.pairs,
                false,
            );
        }
    }
    row(out, "whole model", &anatomy.overall, true);
    (width, row_y - y)
}

/// `model.layers.3.self_attn.q_proj.weight` → `self_attn.q_proj`.
fn short_name(name: &str) -> &str {
    let name = name.strip_suffix(".weight").unwrap_or(name);
    match crate::plan::layer_of(name) {
        Some(layer) => {
            let marker = format!(".{layer}.");
            name.find(&marker)
                .map_or(name, |at| &name[at + marker.len()..])
        }
        None => name.strip_prefix("model.").unwrap_or(name),
    }
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn short_names() {
        assert_eq!(
            short_name("model.layers.3.self_attn.q_proj.weight"),
            "self_attn.q_proj"
        );
        assert_eq!(short_name("model.embed_tokens.weight"), "embed_tokens");
        assert_eq!(short_name("lm_head.weight"), "lm_head");
    }
}
