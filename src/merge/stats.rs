//! Whole-tensor reductions shared by the geometric methods. Every hypersphere method only needs
//! the pairwise dot products of its inputs, so one statistics pass (accumulated in f64) suffices.

use super::sparsify::wide::wide_fn;
use super::Chunk;

/// Task vectors of one chunk: xᵢ − base (in f32, as the kernels compute them), or the inputs
/// themselves when `subtract_base` is false or there is no base.
pub fn task_vectors(chunk: &Chunk<'_>, subtract_base: bool) -> Vec<Vec<f32>> {
    match chunk.base.filter(|_| subtract_base) {
        Some(base) => chunk
            .inputs
            .iter()
            .map(|x| x.iter().zip(base).map(|(x, b)| x - b).collect())
            .collect(),
        None => chunk.inputs.iter().map(|x| x.to_vec()).collect(),
    }
}

/// How a tensor's elements form the vectors a per-vector statistic is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorLayout {
    /// The whole tensor is one vector.
    Flat,
    /// Each run of this many elements (a last-axis row) is a vector.
    Rows(usize),
    /// Elements e with equal e mod this stride form a vector (vectors along axis 0).
    Columns(usize),
}

const LANES: usize = 8;

/// An f64 sum whose rounding depends only on the element indices, not on how the tensor was
/// chunked: element e goes to lane e mod 8 (independent chains, so it also pipelines well).
#[derive(Debug, Clone, Default)]
pub struct LaneSum([f64; LANES]);

impl LaneSum {
    /// Adds the terms of elements start, start+1, ….
    #[inline]
    pub fn add(&mut self, start: usize, terms: impl Iterator<Item = f64>) {
        for (e, term) in terms.enumerate() {
            self.0[(start + e) % LANES] += term;
        }
    }

    /// Adds the products a[e]·b[e] (in f64) of elements start, start+1, … — the same sums as
    /// [`LaneSum::add`], lane by lane in the same order, with the aligned middle in vectors.
    pub fn add_products(&mut self, start: usize, a: &[f32], b: &[f32]) {
        let head = ((LANES - start % LANES) % LANES).min(a.len());
        let product = |(&x, &y): (&f32, &f32)| x as f64 * y as f64;
        self.add(start, a[..head].iter().zip(&b[..head]).map(product));
        let body = (a.len() - head) / LANES * LANES;
        add_lane_products(&mut self.0, &a[head..head + body], &b[head..head + body]);
        let rest = head + body;
        self.add(start + rest, a[rest..].iter().zip(&b[rest..]).map(product));
    }

    pub fn total(&self) -> f64 {
        let l = &self.0;
        ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
    }
}

wide_fn! {
    /// lanes[l] += a[k+l]·b[k+l] for each group of LANES elements (a, b start lane-aligned).
    fn add_lane_products(lanes: &mut [f64; LANES], a: &[f32], b: &[f32]) {
        for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
            for l in 0..LANES {
                lanes[l] += x[l] as f64 * y[l] as f64;
            }
        }
    }
}

/// Σₑ vᵢ[e]·vⱼ[e] for every pair of n vectors, accumulated chunk by chunk in f64.
#[derive(Debug, Clone)]
pub struct Gram {
    n: usize,
    sums: Vec<f64>,
    lanes: Vec<LaneSum>,
}

impl Gram {
    pub fn new(n: usize) -> Self {
        Gram {
            n,
            sums: vec![0.0; n * n],
            lanes: vec![LaneSum::default(); n * n],
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Adds the elements start.. of every vector (the slices are the same length).
    pub fn add<V: AsRef<[f32]>>(&mut self, start: usize, vectors: &[V]) {
        for i in 0..self.n {
            for j in i..self.n {
                let (a, b) = (vectors[i].as_ref(), vectors[j].as_ref());
                let lanes = &mut self.lanes[i * self.n + j];
                lanes.add_products(start, a, b);
                let total = lanes.total();
                self.sums[i * self.n + j] = total;
                self.sums[j * self.n + i] = total;
            }
        }
    }

    /// A Gram matrix from sums gathered elsewhere (the GPU): the upper triangle, row by row.
    pub fn from_upper(n: usize, upper: &[f64]) -> Gram {
        let mut gram = Gram::new(n);
        let pairs = (0..n).flat_map(|i| (i..n).map(move |j| (i, j)));
        for ((i, j), &sum) in pairs.zip(upper) {
            gram.lanes[i * n + j].0[0] = sum;
            gram.sums[i * n + j] = sum;
            gram.sums[j * n + i] = sum;
        }
        gram
    }

    pub fn dot(&self, i: usize, j: usize) -> f64 {
        self.sums[i * self.n + j]
    }

    pub fn norm(&self, i: usize) -> f64 {
        self.dot(i, i).max(0.0).sqrt()
    }

    /// xᵀ G y for coefficient vectors over the n inputs.
    pub fn bilinear(&self, x: &[f64], y: &[f64]) -> f64 {
        let mut total = 0.0;
        for (i, &xi) in x.iter().enumerate() {
            for (j, &yj) in y.iter().enumerate() {
                total += xi * self.dot(i, j) * yj;
            }
        }
        total
    }

    /// The Gram matrix of the vectors scaled by 1/sᵢ.
    pub fn scaled(&self, scales: &[f64]) -> Gram {
        let mut out = self.clone();
        for i in 0..self.n {
            for j in 0..self.n {
                out.sums[i * self.n + j] /= scales[i] * scales[j];
            }
        }
        out
    }
}

/// out = offset + Σ cᵢ·vᵢ, the sum evaluated in f32 in input order.
pub fn combine(vectors: &[&[f32]], coefs: &[f32], offset: Option<&[f32]>, out: &mut [f32]) {
    for (e, o) in out.iter_mut().enumerate() {
        let mut acc = vectors[0][e] * coefs[0];
        for (v, &c) in vectors.iter().zip(coefs).skip(1) {
            acc += v[e] * c;
        }
        *o = match offset {
            Some(base) => base[e] + acc,
            None => acc,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_by_hand() {
        let mut g = Gram::new(2);
        g.add(0, &[[1.0f32, 2.0], [3.0, -1.0]]);
        g.add(2, &[[2.0f32], [0.5]]);
        assert_eq!(g.dot(0, 0), 9.0);
        assert_eq!(g.dot(0, 1), 2.0);
        assert_eq!(g.dot(1, 0), 2.0);
        assert_eq!(g.dot(1, 1), 10.25);
        assert_eq!(g.norm(0), 3.0);
        assert_eq!(g.bilinear(&[1.0, 1.0], &[1.0, 0.0]), 11.0);
        let rebuilt = Gram::from_upper(2, &[9.0, 2.0, 10.25]);
        assert_eq!(rebuilt.sums, g.sums);
    }

    #[test]
    fn vector_products_equal_the_lane_by_lane_sums() {
        let a: Vec<f32> = (0..1000)
            .map(|i| ((i * 37) % 101) as f32 * 0.013 - 0.6)
            .collect();
        let b: Vec<f32> = (0..1000)
            .map(|i| ((i * 53) % 97) as f32 * 0.021 - 1.0)
            .collect();
        for start in [0, 3, 8, 13] {
            for len in [0, 5, 8, 999] {
                let (x, y) = (&a[..len], &b[..len]);
                let mut scalar = LaneSum::default();
                scalar.add(start, x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64));
                let mut vector = LaneSum::default();
                vector.add_products(start, x, y);
                assert_eq!(scalar.0, vector.0, "start {start} len {len}");
            }
        }
    }
}
