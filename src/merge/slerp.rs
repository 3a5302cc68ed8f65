//! Spherical interpolation of two tensors.
//!
//! `slerp`: base = v0 (t = 0), the other model = v1, per whole tensor: dot of the normalised
//! tensors (one statistics pass), |dot| > 0.9995 → lerp, else sin((1−t)θ)/sin θ·a + sin(tθ)/sin θ·b
//! on the unnormalised tensors.
//! `nuslerp`: t = w₂/(w₁+w₂); with a base, base + slerp of the two task vectors. Vectors are the
//! flattened tensor (`nuslerp_flatten`, one pass), each last-axis row (no pass), or with
//! `nuslerp_row_wise` each vector along axis 0 (one pass, per-column statistics).

use super::stats::{task_vectors, Gram, VectorLayout};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

fn arity_error(recipe: &TensorRecipe, what: &str) -> MergeError {
    MergeError::Unsupported(format!(
        "`{}` merges {what}; tensor `{}` has {} model(s) besides the base{}",
        recipe.method.key(),
        recipe.name,
        recipe.per_input.len(),
        if recipe.has_base { "" } else { " and no base" }
    ))
}

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, Paper, ParamDecl, ParamKind,
    ParamName, Scope, ANY, UNIT,
};

pub static SLERP: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Slerp,
    key: "slerp",
    base: BasePolicy::Required,
    merges_listed_base: false,
    arity: (1, 1),
    random: false,
    params: &SLERP_PARAMS,
    cpu: |r| Ok(Box::new(Slerp::new(r)?)),
    gpu: Some(GpuRoute::Slerp),
    paper: Some(Paper {
        name: "SLERP",
        url: "https://en.wikipedia.org/wiki/Slerp",
    }),
};
const SLERP_PARAMS: [ParamDecl; 1] = [decl(ParamName::T, Scope::Global, UNIT, None)];

pub static NUSLERP: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Nuslerp,
    key: "nuslerp",
    base: BasePolicy::Optional,
    merges_listed_base: false,
    arity: (2, 2),
    random: false,
    params: &NUSLERP_PARAMS,
    cpu: |r| Ok(Box::new(Nuslerp::new(r)?)),
    gpu: Some(GpuRoute::Nuslerp),
    paper: None,
};
const NUSLERP_PARAMS: [ParamDecl; 3] = [
    decl(ParamName::Weight, Scope::PerModel, ANY, None),
    decl(
        ParamName::NuslerpFlatten,
        Scope::Global,
        ParamKind::Flag,
        Some(1.0),
    ),
    decl(
        ParamName::NuslerpRowWise,
        Scope::Global,
        ParamKind::Flag,
        Some(0.0),
    ),
];

pub struct Slerp {
    t: f64,
    gram: Gram,
    coefs: [f32; 2],
}

impl Slerp {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        if !recipe.has_base || recipe.per_input.len() != 1 {
            return Err(arity_error(recipe, "a base and exactly one other model"));
        }
        let t = recipe.global(ParamName::T);
        Ok(Slerp {
            t,
            gram: Gram::new(2),
            coefs: lerp_coefs(t),
        })
    }

    /// The coefficients of (base, other) for the Gram matrix of (base, other) gathered elsewhere.
    pub fn coefs_for(&mut self, gram: Gram) -> [f32; 2] {
        self.gram = gram;
        self.finish_pass(0);
        self.coefs
    }
}

fn lerp_coefs(t: f64) -> [f32; 2] {
    let t = t as f32;
    [1.0 - t, t]
}

impl TensorMerge for Slerp {
    fn stat_passes(&self) -> usize {
        1
    }

    fn observe(&mut self, _pass: usize, chunk: &Chunk<'_>) {
        let base = chunk.base.expect("slerp needs a base model");
        self.gram.add(chunk.start, &[base, chunk.inputs[0]]);
    }

    fn finish_pass(&mut self, _pass: usize) {
        let unit = |n: f64| if n > 1e-8 { n } else { 1.0 };
        let (na, nb) = (unit(self.gram.norm(0)), unit(self.gram.norm(1)));
        let dot = (self.gram.dot(0, 1) / na / nb).clamp(-1.0, 1.0);
        if dot.abs() <= 0.9995 {
            let theta = dot.acos();
            let s = theta.sin();
            self.coefs = [
                (((1.0 - self.t) * theta).sin() / s) as f32,
                ((self.t * theta).sin() / s) as f32,
            ];
        }
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("slerp needs a base model");
        let [ca, cb] = self.coefs;
        for ((o, &a), &b) in out.iter_mut().zip(base).zip(chunk.inputs[0]) {
            *o = ca * a + cb * b;
        }
    }
}

/// How nuslerp combines one pair of vectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arc {
    Lerp,
    /// (a·v0 + b·v1) / s, as mergekit evaluates it.
    Sin {
        a: f32,
        b: f32,
        s: f32,
    },
}

impl Arc {
    /// From ‖v0‖², v0·v1, ‖v1‖² (norms clamped at 1e-7, |sin θ| < 1e-8 → lerp).
    pub(crate) fn new(t: f64, s00: f64, s01: f64, s11: f64) -> Arc {
        let n0 = s00.max(0.0).sqrt().max(1e-7);
        let n1 = s11.max(0.0).sqrt().max(1e-7);
        let theta = (s01 / n0 / n1).clamp(-1.0, 1.0).acos();
        let s = theta.sin();
        if s.abs() < 1e-8 {
            Arc::Lerp
        } else {
            Arc::Sin {
                a: ((1.0 - t) * theta).sin() as f32,
                b: (t * theta).sin() as f32,
                s: s as f32,
            }
        }
    }

    #[inline]
    fn eval(self, t: f32, v0: f32, v1: f32) -> f32 {
        match self {
            Arc::Lerp => (1.0 - t) * v0 + t * v1,
            Arc::Sin { a, b, s } => (a * v0 + b * v1) / s,
        }
    }
}

enum Vectors {
    /// The whole tensor is one vector.
    Flat { gram: Gram, arc: Arc },
    /// Each last-axis row of this length is a vector; computed inside `apply`.
    Rows(usize),
    /// Elements e with equal e mod stride form a vector (vectors along axis 0).
    Columns {
        stride: usize,
        sums: Vec<[f64; 3]>,
        arcs: Vec<Arc>,
    },
}

pub struct Nuslerp {
    t: f64,
    vectors: Vectors,
}

impl Nuslerp {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        if recipe.per_input.len() != 2 {
            return Err(arity_error(
                recipe,
                "exactly two models (plus an optional base)",
            ));
        }
        let (w0, w1) = (
            recipe.per_input(0, ParamName::Weight),
            recipe.per_input(1, ParamName::Weight),
        );
        let t = if (w0 + w1).abs() < 1e-6 {
            0.5
        } else {
            w1 / (w0 + w1)
        };
        let vectors = if recipe.flag(ParamName::NuslerpFlatten) {
            Vectors::Flat {
                gram: Gram::new(2),
                arc: Arc::Lerp,
            }
        } else if recipe.flag(ParamName::NuslerpRowWise) {
            let stride = match recipe.shape.first() {
                Some(&rows) if rows > 0 => recipe.numel() / rows,
                _ => 1,
            };
            Vectors::Columns {
                stride,
                sums: vec![[0.0; 3]; stride],
                arcs: Vec::new(),
            }
        } else {
            Vectors::Rows(recipe.row_len())
        };
        Ok(Nuslerp { t, vectors })
    }

    /// The interpolation factor w₂/(w₁+w₂).
    pub fn t(&self) -> f64 {
        self.t
    }

    pub fn layout(&self) -> VectorLayout {
        match self.vectors {
            Vectors::Flat { .. } => VectorLayout::Flat,
            Vectors::Rows(len) => VectorLayout::Rows(len),
            Vectors::Columns { stride, .. } => VectorLayout::Columns(stride),
        }
    }
}

impl TensorMerge for Nuslerp {
    fn stat_passes(&self) -> usize {
        match self.vectors {
            Vectors::Rows(_) => 0,
            _ => 1,
        }
    }

    fn observe(&mut self, _pass: usize, chunk: &Chunk<'_>) {
        let v = task_vectors(chunk, true);
        match &mut self.vectors {
            Vectors::Flat { gram, .. } => gram.add(chunk.start, &v),
            Vectors::Columns { stride, sums, .. } => {
                for (e, (&a, &b)) in v[0].iter().zip(&v[1]).enumerate() {
                    let s = &mut sums[(chunk.start + e) % *stride];
                    let (a, b) = (a as f64, b as f64);
                    s[0] += a * a;
                    s[1] += a * b;
                    s[2] += b * b;
                }
            }
            Vectors::Rows(_) => {}
        }
    }

    fn finish_pass(&mut self, _pass: usize) {
        let t = self.t;
        match &mut self.vectors {
            Vectors::Flat { gram, arc } => {
                *arc = Arc::new(t, gram.dot(0, 0), gram.dot(0, 1), gram.dot(1, 1))
            }
            Vectors::Columns { sums, arcs, .. } => {
                *arcs = sums.iter().map(|s| Arc::new(t, s[0], s[1], s[2])).collect();
            }
            Vectors::Rows(_) => {}
        }
    }

    fn row_alignment(&self) -> usize {
        match self.vectors {
            Vectors::Rows(len) => len,
            _ => 1,
        }
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let v = task_vectors(chunk, true);
        let (v0, v1) = (&v[0], &v[1]);
        let t = self.t as f32;
        match &self.vectors {
            Vectors::Flat { arc, .. } => {
                for ((o, &a), &b) in out.iter_mut().zip(v0).zip(v1) {
                    *o = arc.eval(t, a, b);
                }
            }
            Vectors::Columns { stride, arcs, .. } => {
                for (e, ((o, &a), &b)) in out.iter_mut().zip(v0).zip(v1).enumerate() {
                    *o = arcs[(chunk.start + e) % stride].eval(t, a, b);
                }
            }
            Vectors::Rows(len) => {
                let rows = out
                    .chunks_mut(*len)
                    .zip(v0.chunks(*len))
                    .zip(v1.chunks(*len));
                for ((o, r0), r1) in rows {
                    let mut gram = Gram::new(2);
                    gram.add(0, &[r0, r1]);
                    let arc = Arc::new(self.t, gram.dot(0, 0), gram.dot(0, 1), gram.dot(1, 1));
                    for ((o, &a), &b) in o.iter_mut().zip(r0).zip(r1) {
                        *o = arc.eval(t, a, b);
                    }
                }
            }
        }
        if let Some(base) = chunk.base {
            for (o, &b) in out.iter_mut().zip(base) {
                *o += b;
            }
        }
    }
}
