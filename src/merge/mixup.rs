//! M³ mixup: the two merge weights become λ and 1−λ with λ ~ Beta(α, α), drawn once per merge.
//! ChaCha8 and libm's pure-Rust functions make the draw identical on every platform (wasm too).

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Draws λ ~ Beta(alpha, alpha) from `seed`. Panics if `alpha` is not finite and positive
/// (the config parser guarantees it).
pub fn draw_lambda(alpha: f64, seed: u64) -> f64 {
    assert!(
        alpha.is_finite() && alpha > 0.0,
        "Beta parameter must be positive"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Beta(a, a) = X / (X + Y) with X, Y ~ Gamma(a); in logs so tiny α cannot give 0/0.
    let ln_x = ln_gamma_variate(alpha, &mut rng);
    let ln_y = ln_gamma_variate(alpha, &mut rng);
    1.0 / (1.0 + libm::exp(ln_y - ln_x))
}

fn uniform_open(rng: &mut ChaCha8Rng) -> f64 {
    // (0, 1): never 0, so its logarithm is finite.
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = uniform_open(rng);
    let u2 = uniform_open(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

/// ln of a Gamma(shape, 1) variate (Marsaglia–Tsang; shapes below 1 boosted by U^(1/shape)).
fn ln_gamma_variate(shape: f64, rng: &mut ChaCha8Rng) -> f64 {
    if shape < 1.0 {
        let boosted = ln_gamma_variate(shape + 1.0, rng);
        return boosted + libm::log(uniform_open(rng)) / shape;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / libm::sqrt(9.0 * d);
    loop {
        let x = standard_normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = uniform_open(rng);
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 || libm::log(u) < 0.5 * x2 + d * (1.0 - v + libm::log(v)) {
            return libm::log(d) + libm::log(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_lambda() {
        assert_eq!(draw_lambda(0.5, 7).to_bits(), draw_lambda(0.5, 7).to_bits());
        assert_ne!(draw_lambda(0.5, 7), draw_lambda(0.5, 8));
    }

    #[test]
    fn lambda_is_in_unit_interval_for_extreme_alphas() {
        for alpha in [1e-3, 0.05, 0.5, 1.0, 2.0, 50.0] {
            for seed in 0..200 {
                let l = draw_lambda(alpha, seed);
                assert!((0.0..=1.0).contains(&l), "alpha {alpha} seed {seed}: {l}");
            }
        }
    }

    #[test]
    fn moments_match_beta() {
        // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
        for alpha in [0.2, 0.5, 2.0] {
            let n = 20_000;
            let draws: Vec<f64> = (0..n).map(|s| draw_lambda(alpha, s)).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n as f64;
            let expected_var = 1.0 / (4.0 * (2.0 * alpha + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "alpha {alpha}: mean {mean}");
            assert!(
                (var - expected_var).abs() < 0.05 * expected_var,
                "alpha {alpha}: var {var} vs {expected_var}"
            );
        }
    }
}
