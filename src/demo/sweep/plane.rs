//! The plane through three checkpoints: θ(x, y) = base + x·(A − base) + y·(B − base), a
//! task-arithmetic merge with weights x and y, scored over a grid. The base sits at (0, 0), A
//! at (1, 0), B at (0, 1). Merges of A and B are marked where their task vector projects onto
//! the plane (least squares), with the share of it that lies off the plane, and their own scores.

use burn::prelude::Device;
use serde::Serialize;

use super::merge::{merge_models, PairMethod};
use super::tensors::TensorSet;
use super::{PointDone, SweepHooks, SweepModels};
use crate::demo::score::TaskScore;
use crate::error::{MergeError, Result};
use crate::merge::catalog::MethodKind;

#[derive(Debug, Clone, PartialEq)]
pub struct PlaneOptions {
    pub a: String,
    pub b: String,
    /// Grid points per axis (at least 2), from `min` to `max` on both axes.
    pub grid: usize,
    pub min: f64,
    pub max: f64,
    /// Merges of A and B to mark, each with weights `merge_weights`.
    pub merges: Vec<PairMethod>,
    pub merge_weights: [f64; 2],
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaneCell {
    pub x: f64,
    pub y: f64,
    pub scores: Vec<TaskScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaneMarker {
    pub label: String,
    /// `model` (a checkpoint, on the plane by construction) or `merge`.
    pub kind: &'static str,
    pub x: f64,
    pub y: f64,
    /// ‖residual‖ / ‖θ − base‖ of the projection: 0 on the plane, 1 orthogonal to it.
    pub off_plane: f64,
    /// The scores of the model itself (not of its projection).
    pub scores: Vec<TaskScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaneReport {
    pub base: String,
    pub a: String,
    pub b: String,
    pub tasks: Vec<String>,
    pub examples_per_task: usize,
    pub seed: u64,
    pub task_vectors: TaskVectors,
    pub axis: Vec<f64>,
    /// Row by row: y = axis[0] first, x running fastest.
    pub cells: Vec<PlaneCell>,
    pub markers: Vec<PlaneMarker>,
}

/// Merges and scores every grid point of the plane and every marked model on `device`.
pub async fn run_plane<H: SweepHooks>(
    models: &SweepModels,
    options: &PlaneOptions,
    device: &Device,
    hooks: &mut H,
) -> Result<PlaneReport> {
    if options.grid < 2 {
        return Err(MergeError::config(
            "grid",
            "a plane needs at least 2 points per axis",
        ));
    }
    if !(options.min.is_finite() && options.max.is_finite() && options.min < options.max) {
        return Err(MergeError::config(
            "range",
            format!("needs min < max, not {}..{}", options.min, options.max),
        ));
    }
    let (a, b) = (models.expert(&options.a)?, models.expert(&options.b)?);
    let axis: Vec<f64> = (0..options.grid)
        .map(|i| options.min + (options.max - options.min) * i as f64 / (options.grid - 1) as f64)
        .collect();
    let mut progress = PointDone {
        done: 0,
        total: axis.len() * axis.len() + 3 + options.merges.len(),
    };
    let plane = PairMethod::new(MethodKind::TaskArithmetic);
    let mut cells = Vec::with_capacity(progress.total);
    for &y in &axis {
        for &x in &axis {
            hooks.before_point().await?;
            let merged = merge_models(&plane, &models.base, &[a, b], &[x, y], options.seed)?;
            let scores = models.score(&merged, device).await?;
            cells.push(PlaneCell { x, y, scores });
            progress.done += 1;
            hooks.point_done(progress);
        }
    }
    let mut markers = Vec::new();
    for (model, x, y) in [(&models.base, 0.0, 0.0), (a, 1.0, 0.0), (b, 0.0, 1.0)] {
        hooks.before_point().await?;
        markers.push(PlaneMarker {
            label: model.name.clone(),
            kind: "model",
            x,
            y,
            off_plane: 0.0,
            scores: models.score(model, device).await?,
        });
        progress.done += 1;
        hooks.point_done(progress);
    }
    for method in &options.merges {
        hooks.before_point().await?;
        let merged = merge_models(
            method,
            &models.base,
            &[a, b],
            &options.merge_weights,
            options.seed,
        )?;
        let (x, y, off_plane) = project(&models.base, a, b, &merged);
        markers.push(PlaneMarker {
            label: method.kind.key().to_string(),
            kind: "merge",
            x,
            y,
            off_plane,
            scores: models.score(&merged, device).await?,
        });
        progress.done += 1;
        hooks.point_done(progress);
    }
    Ok(PlaneReport {
        base: models.base.name.clone(),
        a: a.name.clone(),
        b: b.name.clone(),
        tasks: models.scorer.task_names(),
        examples_per_task: models.examples_per_task(),
        seed: options.seed,
        task_vectors: task_vectors(&models.base, a, b),
        axis,
        cells,
        markers,
    })
}

/// The lengths of the two task vectors and the cosine between them (all tensors flattened).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TaskVectors {
    pub norm_a: f64,
    pub norm_b: f64,
    pub cosine: f64,
}

pub fn task_vectors(base: &TensorSet, a: &TensorSet, b: &TensorSet) -> TaskVectors {
    let [aa, ab, bb, ..] = dot_products(base, a, b, a);
    TaskVectors {
        norm_a: aa.sqrt(),
        norm_b: bb.sqrt(),
        cosine: ab / (aa.sqrt() * bb.sqrt()).max(f64::MIN_POSITIVE),
    }
}

/// (x, y, off-plane share) of `model`'s least-squares projection onto base + span(A − base,
/// B − base), over all tensors flattened.
pub fn project(
    base: &TensorSet,
    a: &TensorSet,
    b: &TensorSet,
    model: &TensorSet,
) -> (f64, f64, f64) {
    let [aa, ab, bb, ad, bd, dd] = dot_products(base, a, b, model);
    let det = aa * bb - ab * ab;
    if det.abs() <= f64::EPSILON * aa * bb || dd == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let x = (bb * ad - ab * bd) / det;
    let y = (aa * bd - ab * ad) / det;
    // ‖d − x·u − y·v‖² = ‖d‖² − (x·⟨u,d⟩ + y·⟨v,d⟩) for the least-squares solution.
    let residual = (dd - (x * ad + y * bd)).max(0.0);
    (x, y, (residual / dd).sqrt())
}

/// ⟨u,u⟩, ⟨u,v⟩, ⟨v,v⟩, ⟨u,d⟩, ⟨v,d⟩, ⟨d,d⟩ for u = A − base, v = B − base, d = model − base.
fn dot_products(base: &TensorSet, a: &TensorSet, b: &TensorSet, model: &TensorSet) -> [f64; 6] {
    let (mut aa, mut ab, mut bb, mut ad, mut bd, mut dd) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (name, t) in &base.tensors {
        let (ta, tb, tm) = (&a.tensors[name], &b.tensors[name], &model.tensors[name]);
        for i in 0..t.values.len() {
            let o = t.values[i] as f64;
            let (u, v, d) = (
                ta.values[i] as f64 - o,
                tb.values[i] as f64 - o,
                tm.values[i] as f64 - o,
            );
            aa += u * u;
            ab += u * v;
            bb += v * v;
            ad += u * d;
            bd += v * d;
            dd += d * d;
        }
    }
    [aa, ab, bb, ad, bd, dd]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::sweep::tensors::HostTensor;
    use std::collections::BTreeMap;

    fn set(values: &[f32]) -> TensorSet {
        let tensor = HostTensor {
            shape: vec![values.len()],
            values: values.to_vec(),
        };
        TensorSet {
            name: "m".into(),
            tensors: BTreeMap::from([("w".to_string(), tensor)]),
        }
    }

    #[test]
    fn projection_recovers_plane_coordinates_and_off_plane_share() {
        let (base, a, b) = (
            set(&[1.0, 1.0, 1.0]),
            set(&[2.0, 1.0, 1.0]),
            set(&[1.0, 3.0, 1.0]),
        );
        let (x, y, off) = project(&base, &a, &b, &set(&[1.5, 2.0, 1.0]));
        assert!((x - 0.5).abs() < 1e-12 && (y - 0.5).abs() < 1e-12 && off < 1e-12);
        // Delta (0, 0, 2): orthogonal to the plane.
        let (x, y, off) = project(&base, &a, &b, &set(&[1.0, 1.0, 3.0]));
        assert!(x.abs() < 1e-12 && y.abs() < 1e-12 && (off - 1.0).abs() < 1e-12);
        // Delta (1, 0, 1): x = 1, half its squared length off the plane.
        let (x, _, off) = project(&base, &a, &b, &set(&[2.0, 1.0, 2.0]));
        assert!((x - 1.0).abs() < 1e-12 && (off - 0.5f64.sqrt()).abs() < 1e-12);
        let t = task_vectors(&base, &a, &b);
        assert_eq!((t.norm_a, t.norm_b, t.cosine), (1.0, 2.0, 0.0));
    }
}
