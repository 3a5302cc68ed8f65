//! CMA-ES (Hansen's (μ/μ_w, λ) evolution strategy with rank-one and rank-μ covariance updates and
//! cumulative step-size adaptation) as an ask/tell state machine, minimising.
//!
//! Written here rather than taken from a crate because the search needs two things the
//! maintained crates (`cmaes` runs the objective itself as a synchronous closure) do not give:
//! an ask/tell loop, so the tab can await WebGPU scoring and stop between evaluations, and the
//! same candidates natively and in wasm for the same seed. Every step uses only IEEE-exact
//! arithmetic and `libm` (software `log`/`exp`/`cos`, identical on every target); the
//! eigendecomposition is a cyclic Jacobi sweep for the same reason.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The strategy's state; coordinates are whatever the caller optimises in (the search uses
/// `[0, 1]` per free parameter).
#[derive(Debug, Clone)]
pub struct Cmaes {
    dim: usize,
    population: usize,
    weights: Vec<f64>,
    mu_eff: f64,
    c_sigma: f64,
    d_sigma: f64,
    c_c: f64,
    c_1: f64,
    c_mu: f64,
    expected_norm: f64,
    mean: Vec<f64>,
    sigma: f64,
    path_sigma: Vec<f64>,
    path_c: Vec<f64>,
    covariance: Vec<Vec<f64>>,
    /// Eigenvectors of the covariance, as columns.
    basis: Vec<Vec<f64>>,
    /// Square roots of its eigenvalues.
    scales: Vec<f64>,
    generation: usize,
    rng: ChaCha8Rng,
}

impl Cmaes {
    /// Starts at `mean` with step size `sigma`; `population` defaults to 4 + ⌊3 ln n⌋.
    pub fn new(mean: Vec<f64>, sigma: f64, population: Option<usize>, seed: u64) -> Self {
        let dim = mean.len().max(1);
        let n = dim as f64;
        let population = population
            .unwrap_or(4 + libm::floor(3.0 * libm::log(n)) as usize)
            .max(2);
        let mu = population / 2;
        let raw: Vec<f64> = (1..=mu)
            .map(|i| libm::log(mu as f64 + 0.5) - libm::log(i as f64))
            .collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / total).collect();
        let mu_eff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
        let c_sigma = (mu_eff + 2.0) / (n + mu_eff + 5.0);
        let d_sigma = 1.0 + 2.0 * (libm::sqrt((mu_eff - 1.0) / (n + 1.0)) - 1.0).max(0.0) + c_sigma;
        let c_c = (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n);
        let c_1 = 2.0 / ((n + 1.3) * (n + 1.3) + mu_eff);
        let c_mu =
            (1.0 - c_1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0) * (n + 2.0) + mu_eff));
        let expected_norm = libm::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
        Cmaes {
            dim,
            population,
            weights,
            mu_eff,
            c_sigma,
            d_sigma,
            c_c,
            c_1,
            c_mu,
            expected_norm,
            mean,
            sigma,
            path_sigma: vec![0.0; dim],
            path_c: vec![0.0; dim],
            covariance: identity(dim),
            basis: identity(dim),
            scales: vec![1.0; dim],
            generation: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn population(&self) -> usize {
        self.population
    }

    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    pub fn generation(&self) -> usize {
        self.generation
    }

    /// One generation of candidates: mean + σ·B·D·z, z ~ N(0, I).
    pub fn ask(&mut self) -> Vec<Vec<f64>> {
        (0..self.population)
            .map(|_| {
                let z: Vec<f64> = (0..self.dim).map(|_| normal(&mut self.rng)).collect();
                let y = self.transform(&z);
                self.mean
                    .iter()
                    .zip(&y)
                    .map(|(m, y)| m + self.sigma * y)
                    .collect()
            })
            .collect()
    }

    /// Updates the distribution from the candidates of the last `ask` and their values (lower
    /// is better). Ties keep the order of asking, so the update is deterministic.
    pub fn tell(&mut self, candidates: &[Vec<f64>], values: &[f64]) {
        assert_eq!(candidates.len(), values.len(), "one value per candidate");
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        let steps: Vec<Vec<f64>> = order
            .iter()
            .take(self.weights.len())
            .map(|&i| {
                candidates[i]
                    .iter()
                    .zip(&self.mean)
                    .map(|(x, m)| (x - m) / self.sigma)
                    .collect()
            })
            .collect();
        let mut step = vec![0.0; self.dim];
        for (w, y) in self.weights.iter().zip(&steps) {
            for (s, v) in step.iter_mut().zip(y) {
                *s += w * v;
            }
        }
        for (m, s) in self.mean.iter_mut().zip(&step) {
            *m += self.sigma * s;
        }

        let whitened = self.inverse_sqrt_times(&step);
        let keep = libm::sqrt(self.c_sigma * (2.0 - self.c_sigma) * self.mu_eff);
        for (p, w) in self.path_sigma.iter_mut().zip(&whitened) {
            *p = (1.0 - self.c_sigma) * *p + keep * w;
        }
        let norm_sigma = norm(&self.path_sigma);
        self.generation += 1;
        let decay = 1.0 - libm::pow(1.0 - self.c_sigma, 2.0 * self.generation as f64);
        let stalled = norm_sigma / libm::sqrt(decay) / self.expected_norm
            < 1.4 + 2.0 / (self.dim as f64 + 1.0);
        let h_sigma = if stalled { 1.0 } else { 0.0 };
        let keep_c = libm::sqrt(self.c_c * (2.0 - self.c_c) * self.mu_eff);
        for (p, s) in self.path_c.iter_mut().zip(&step) {
            *p = (1.0 - self.c_c) * *p + h_sigma * keep_c * s;
        }

        let correction = (1.0 - h_sigma) * self.c_c * (2.0 - self.c_c);
        let old = 1.0 - self.c_1 - self.c_mu;
        for i in 0..self.dim {
            for j in 0..self.dim {
                let rank_mu: f64 = self
                    .weights
                    .iter()
                    .zip(&steps)
                    .map(|(w, y)| w * y[i] * y[j])
                    .sum();
                let c = &mut self.covariance[i][j];
                *c = old * *c
                    + self.c_1 * (self.path_c[i] * self.path_c[j] + correction * *c)
                    + self.c_mu * rank_mu;
            }
        }
        self.sigma *=
            libm::exp((self.c_sigma / self.d_sigma) * (norm_sigma / self.expected_norm - 1.0));
        let (values, vectors) = symmetric_eigen(&self.covariance);
        self.scales = values.iter().map(|v| libm::sqrt(v.max(1e-20))).collect();
        self.basis = vectors;
    }

    /// B·D·z.
    fn transform(&self, z: &[f64]) -> Vec<f64> {
        (0..self.dim)
            .map(|i| {
                (0..self.dim)
                    .map(|k| self.basis[i][k] * self.scales[k] * z[k])
                    .sum()
            })
            .collect()
    }

    /// C^(−1/2)·v = B·D⁻¹·Bᵀ·v.
    fn inverse_sqrt_times(&self, v: &[f64]) -> Vec<f64> {
        let projected: Vec<f64> = (0..self.dim)
            .map(|k| (0..self.dim).map(|i| self.basis[i][k] * v[i]).sum::<f64>() / self.scales[k])
            .collect();
        (0..self.dim)
            .map(|i| (0..self.dim).map(|k| self.basis[i][k] * projected[k]).sum())
            .collect()
    }
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

fn norm(v: &[f64]) -> f64 {
    libm::sqrt(v.iter().map(|x| x * x).sum())
}

/// A standard normal draw (Box–Muller on two uniforms in (0, 1]).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
pub fn symmetric_eigen(matrix: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = matrix.len();
    let mut a: Vec<Vec<f64>> = matrix.to_vec();
    let mut v = identity(n);
    for _sweep in 0..64 {
        let off: f64 = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum();
        let diagonal: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum();
        if off <= 1e-30 * diagonal || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + libm::sqrt(theta * theta + 1.0));
                let c = 1.0 / libm::sqrt(t * t + 1.0);
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p].clone(), a[q].clone());
                for (k, (apk, aqk)) in row_p.into_iter().zip(row_q).enumerate() {
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimise(f: impl Fn(&[f64]) -> f64, start: Vec<f64>, generations: usize) -> (Vec<f64>, f64) {
        let mut es = Cmaes::new(start, 0.5, None, 7);
        let mut best = (Vec::new(), f64::INFINITY);
        for _ in 0..generations {
            let candidates = es.ask();
            let values: Vec<f64> = candidates.iter().map(|x| f(x)).collect();
            for (x, &v) in candidates.iter().zip(&values) {
                if v < best.1 {
                    best = (x.clone(), v);
                }
            }
            es.tell(&candidates, &values);
        }
        best
    }

    #[test]
    fn finds_the_minimum_of_a_shifted_ill_conditioned_ellipsoid() {
        let target = [0.3, -1.2, 2.0, 0.7, -0.4];
        let f = |x: &[f64]| {
            x.iter()
                .zip(target)
                .enumerate()
                .map(|(i, (x, t))| libm::pow(100.0, i as f64 / 4.0) * (x - t) * (x - t))
                .sum()
        };
        let (x, value) = minimise(f, vec![0.0; 5], 300);
        assert!(value < 1e-10, "{value}");
        for (x, t) in x.iter().zip(target) {
            assert!((x - t).abs() < 1e-4, "{x} vs {t}");
        }
    }

    #[test]
    fn finds_rosenbrocks_valley_floor() {
        let f = |x: &[f64]| {
            (0..x.len() - 1)
                .map(|i| {
                    100.0 * libm::pow(x[i + 1] - x[i] * x[i], 2.0) + libm::pow(1.0 - x[i], 2.0)
                })
                .sum()
        };
        let (x, value) = minimise(f, vec![-1.0, 1.5, 0.5], 600);
        assert!(value < 1e-8, "{value} at {x:?}");
    }

    #[test]
    fn the_same_seed_asks_the_same_candidates_and_another_seed_does_not() {
        let run = |seed| {
            let mut es = Cmaes::new(vec![0.5; 4], 0.3, Some(6), seed);
            let mut asked = Vec::new();
            for _ in 0..5 {
                let c = es.ask();
                let v: Vec<f64> = c.iter().map(|x| x.iter().map(|a| a * a).sum()).collect();
                es.tell(&c, &v);
                asked.extend(c);
            }
            asked
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let m = vec![
            vec![4.0, 1.0, -2.0],
            vec![1.0, 2.0, 0.5],
            vec![-2.0, 0.5, 3.0],
        ];
        let (values, vectors) = symmetric_eigen(&m);
        for k in 0..3 {
            for i in 0..3 {
                let mv: f64 = (0..3).map(|j| m[i][j] * vectors[j][k]).sum();
                assert!((mv - values[k] * vectors[i][k]).abs() < 1e-12);
            }
        }
        let trace: f64 = values.iter().sum();
        assert!((trace - 9.0).abs() < 1e-12);
    }
}
