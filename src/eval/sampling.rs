//! Choosing the next token from one row of logits: greedy, or temperature + nucleus (top-p)
//! sampling from a seeded generator, so a seed reproduces a generation.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    Greedy,
    TopP {
        temperature: f32,
        top_p: f32,
        seed: u64,
    },
}

impl Sampling {
    /// Temperature 0 (or below) is greedy decoding; above it, seeded nucleus sampling.
    pub fn from_temperature(temperature: f32, top_p: f32, seed: u64) -> Self {
        match temperature > 0.0 {
            true => Sampling::TopP {
                temperature,
                top_p,
                seed,
            },
            false => Sampling::Greedy,
        }
    }
}

/// Draws tokens one after another under one [`Sampling`] rule.
pub struct Sampler {
    rule: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub fn new(rule: Sampling) -> Self {
        let seed = match rule {
            Sampling::TopP { seed, .. } => seed,
            Sampling::Greedy => 0,
        };
        Sampler {
            rule,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn next(&mut self, logits: &[f32]) -> u32 {
        match self.rule {
            Sampling::TopP {
                temperature, top_p, ..
            } if temperature > 0.0 => {
                let uniform: f64 = self.rng.random();
                top_p_pick(logits, temperature, top_p, uniform)
            }
            _ => argmax(logits),
        }
    }
}

/// The first index of the largest logit.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// `ln softmax(logits)[token]`, computed in f64.
pub fn log_prob(logits: &[f32], token: u32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
    (logits[token as usize] as f64 - max - sum.ln()) as f32
}

/// Nucleus sampling: the most probable tokens whose probabilities (at `temperature`) first reach
/// `top_p` in total, renormalised; `uniform` ∈ [0, 1) picks one of them.
pub fn top_p_pick(logits: &[f32], temperature: f32, top_p: f32, uniform: f64) -> u32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let t = temperature as f64;
    let mut probs: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as u32, ((v as f64 - max) / t).exp()))
        .collect();
    let total: f64 = probs.iter().map(|p| p.1).sum();
    // Stable order: by probability, ties by id, so a seed means the same tokens everywhere.
    probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut kept = 0;
    let mut mass = 0.0;
    while kept < probs.len() && (kept == 0 || mass < top_p as f64 * total) {
        mass += probs[kept].1;
        kept += 1;
    }
    let mut target = uniform * mass;
    for &(id, p) in &probs[..kept] {
        if target < p {
            return id;
        }
        target -= p;
    }
    probs[kept - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_largest() {
        assert_eq!(argmax(&[0.1, 3.0, -1.0, 3.0]), 1);
    }

    #[test]
    fn log_prob_matches_softmax() {
        let logits = [1.0f32, 2.0, 3.0];
        let z: f64 = logits.iter().map(|&v| (v as f64).exp()).sum();
        let expected = (2.0f64.exp() / z).ln();
        assert!((log_prob(&logits, 1) as f64 - expected).abs() < 1e-6);
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Probabilities 0.5, 0.3, 0.2 (temperature 1): top_p 0.7 keeps ids 2 and 0 only.
        let logits = [0.3f32.ln(), 0.2f32.ln(), 0.5f32.ln()];
        let picks: Vec<u32> = (0..100)
            .map(|i| top_p_pick(&logits, 1.0, 0.7, i as f64 / 100.0))
            .collect();
        assert!(picks.iter().all(|&p| p == 2 || p == 0), "{picks:?}");
        // Renormalised over 0.8: id 2 takes 5/8 of the unit interval, id 0 the rest.
        assert_eq!(picks.iter().filter(|&&p| p == 2).count(), 63);
        // top_p 0 still keeps the single most probable token.
        assert_eq!(top_p_pick(&logits, 1.0, 0.0, 0.99), 2);
    }

    #[test]
    fn low_temperature_concentrates_on_the_maximum() {
        let logits = [1.0f32, 1.5, 0.0];
        assert_eq!(top_p_pick(&logits, 0.01, 1.0, 0.999), 1);
    }

    #[test]
    fn a_seed_reproduces_its_draws_and_another_seed_differs() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 7919) % 13) as f32 / 4.0).collect();
        let rule = |seed| Sampling::TopP {
            temperature: 1.0,
            top_p: 0.95,
            seed,
        };
        let draw = |seed| {
            let mut s = Sampler::new(rule(seed));
            (0..32).map(|_| s.next(&logits)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
