//! Generalized task arithmetic through the public API: ties, dare, breadcrumbs, della (and their
//! _ties/_linear twins), driven over chunks like the executor drives them.

use std::collections::BTreeMap;
use std::ops::Range;

use mixmerge::dtype::DType;
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName};
use mixmerge::merge::rng::{tensor_key, Stream};
use mixmerge::merge::{build_merger, Chunk, Stored, TensorRecipe};
use mixmerge::MergeError;

const NAME: &str = "model.layers.0.mlp.up_proj.weight";

/// Per-input parameters: weight, then optional density / gamma / epsilon.
fn input(weight: f64, extra: &[(ParamName, f64)]) -> BTreeMap<ParamName, f64> {
    let mut params = BTreeMap::from([(ParamName::Weight, weight)]);
    params.extend(extra.iter().copied());
    params
}

/// Weights 0.5, 0.3 and 0.2, each input with the same sparsifier parameters.
fn three_inputs(density: f64, gamma: f64, epsilon: f64) -> Vec<BTreeMap<ParamName, f64>> {
    let params = [
        (ParamName::Density, density),
        (ParamName::Gamma, gamma),
        (ParamName::Epsilon, epsilon),
    ];
    [0.5, 0.3, 0.2].iter().map(|&w| input(w, &params)).collect()
}

fn recipe(
    method: MethodKind,
    shape: &[usize],
    inputs: Vec<BTreeMap<ParamName, f64>>,
    global: &[(ParamName, f64)],
    seed: u64,
) -> TensorRecipe {
    TensorRecipe {
        method,
        name: NAME.into(),
        shape: shape.to_vec(),
        has_base: true,
        global: global.iter().copied().collect(),
        per_input: inputs,
        seed,
    }
}

/// Runs the merger like the executor: the declared stat passes over chunks of about `chunk`
/// elements (whole rows when the merger asks), then `apply` on every chunk, in reverse order
/// when `reverse`.
fn merge_chunked(
    recipe: &TensorRecipe,
    base: &[f32],
    inputs: &[impl AsRef<[f32]>],
    chunk: usize,
    reverse: bool,
) -> Vec<f32> {
    let mut merger = build_merger(recipe).unwrap();
    let align = merger.row_alignment().max(1);
    let step = (chunk / align).max(1) * align;
    let ranges: Vec<Range<usize>> = (0..base.len())
        .step_by(step)
        .map(|s| s..(s + step).min(base.len()))
        .collect();
    let chunk_of = |r: &Range<usize>| -> (usize, Vec<&[f32]>) {
        (
            r.start,
            inputs.iter().map(|x| &x.as_ref()[r.clone()]).collect(),
        )
    };
    for pass in 0..merger.stat_passes() {
        for r in &ranges {
            let (start, parts) = chunk_of(r);
            merger.observe(
                pass,
                &Chunk {
                    start,
                    base: Some(&base[r.clone()]),
                    inputs: &parts,
                },
            );
        }
        merger.finish_pass(pass);
    }
    let mut out = vec![f32::NAN; base.len()];
    let mut order: Vec<&Range<usize>> = ranges.iter().collect();
    if reverse {
        order.reverse();
    }
    for r in order {
        let (start, parts) = chunk_of(r);
        merger.apply(
            &Chunk {
                start,
                base: Some(&base[r.clone()]),
                inputs: &parts,
            },
            &mut out[r.clone()],
        );
    }
    out
}

fn merge(recipe: &TensorRecipe, base: &[f32], inputs: &[impl AsRef<[f32]>]) -> Vec<f32> {
    merge_chunked(recipe, base, inputs, 1 << 20, false)
}

/// Deterministic pseudo-random values in (−scale, scale).
fn noise(n: usize, salt: u32, scale: f32) -> Vec<f32> {
    let s = Stream::new(99, salt, 0);
    (0..n as u32)
        .map(|i| (s.uniform(i) * 2.0 - 1.0) * scale)
        .collect()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn ties_by_hand_with_a_tie_at_the_boundary() {
    let base = vec![1.0; 6];
    // k = 3 each. a: 3, then |2| at 2, 3, 4 tie → the lower indices 2 and 3 stay.
    let a: Vec<f32> = [3.0, -1.0, 2.0, 2.0, -2.0, 0.5]
        .iter()
        .map(|d| 1.0 + d)
        .collect();
    // b: 4, −3, then |1| at 0, 3, 4, 5 tie → index 0 stays.
    let b: Vec<f32> = [-1.0, 4.0, -3.0, 1.0, 1.0, 1.0]
        .iter()
        .map(|d| 1.0 + d)
        .collect();
    let density = [(ParamName::Density, 0.5)];
    let r = recipe(
        MethodKind::Ties,
        &[6],
        vec![input(0.5, &density), input(0.5, &density)],
        &[],
        0,
    );
    // Sparse a = [3,0,2,2,0,0], b = [−1,4,−3,0,0,0]; elected +,+,−,+,+,+; disjoint mean.
    assert_eq!(merge(&r, &base, &[a, b]), [4.0, 5.0, -2.0, 3.0, 1.0, 1.0]);
}

#[test]
fn ties_normalize_is_the_disjoint_mean() {
    let base = vec![0.0, 0.0];
    let a = vec![2.0, 0.0];
    let b = vec![4.0, -2.0];
    let r = recipe(
        MethodKind::Ties,
        &[2],
        vec![input(0.5, &[]), input(0.5, &[])],
        &[],
        0,
    );
    // Both agree: (1 + 2)/1; only b counts: −1/0.5 = −2 (not −1).
    assert_eq!(merge(&r, &base, &[a, b]), [3.0, -2.0]);
}

#[test]
fn ties_one_model_density_one_is_task_arithmetic_bit_exact() {
    let n = 10_000;
    let base = noise(n, 1, 1.0);
    let x = noise(n, 2, 1.0);
    for normalize in [0.0, 1.0] {
        let global = [(ParamName::Normalize, normalize)];
        let ties = recipe(MethodKind::Ties, &[n], vec![input(0.7, &[])], &global, 0);
        let ta = recipe(
            MethodKind::TaskArithmetic,
            &[n],
            vec![input(0.7, &[])],
            &global,
            0,
        );
        let inputs = [x.clone()];
        assert_eq!(
            bits(&merge(&ties, &base, &inputs)),
            bits(&merge(&ta, &base, &inputs))
        );
    }
}

#[test]
fn consensus_count_counts_signs_not_mass() {
    let base = vec![0.0];
    let inputs = [vec![1.0], vec![1.0], vec![-5.0]];
    let three = || vec![input(1.0, &[]), input(1.0, &[]), input(1.0, &[])];
    let sum = recipe(MethodKind::Ties, &[1], three(), &[], 0);
    // Σ = −3 elects −: only −5 counts.
    assert_eq!(merge(&sum, &base, &inputs), [-5.0]);
    let count = recipe(
        MethodKind::Ties,
        &[1],
        three(),
        &[(ParamName::Consensus, encoded::CONSENSUS_COUNT)],
        0,
    );
    // Two + against one −: the two 1s, normalised by their weights.
    assert_eq!(merge(&count, &base, &inputs), [1.0]);
    // Methods without an election ignore the setting.
    let linear = recipe(
        MethodKind::DareLinear,
        &[1],
        three(),
        &[(ParamName::Consensus, encoded::CONSENSUS_COUNT)],
        0,
    );
    assert_eq!(merge(&linear, &base, &inputs), [-3.0]);
}

#[test]
fn top_k_keeps_exactly_k_under_massive_ties() {
    let n = 100_000;
    let base = vec![0.0; n];
    let equal: Vec<f32> = (0..n)
        .map(|i| if i % 3 == 0 { -0.25 } else { 0.25 })
        .collect();
    let few_levels: Vec<f32> = noise(n, 3, 4.0).iter().map(|x| x.round()).collect();
    for x in [equal, few_levels] {
        for density in [0.37, 0.5, 0.999, 1e-6] {
            let r = recipe(
                MethodKind::Ties,
                &[n],
                vec![input(1.0, &[(ParamName::Density, density)])],
                &[],
                0,
            );
            let k = ((density * n as f64) as usize).max(1);
            for chunk in [1000, 4096] {
                let out = merge_chunked(&r, &base, &[&x], chunk, true);
                let kept = out.iter().filter(|v| **v != 0.0).count();
                let nonzero_in = x.iter().filter(|v| **v != 0.0).count();
                assert_eq!(kept, k.min(nonzero_in), "density {density}");
            }
        }
    }
    // All equal: the lowest indices survive.
    let x = vec![0.5; 1000];
    let r = recipe(
        MethodKind::Ties,
        &[1000],
        vec![input(1.0, &[(ParamName::Density, 0.25)])],
        &[],
        0,
    );
    let out = merge_chunked(&r, &vec![0.0; 1000], &[x], 64, true);
    assert!(out[..250].iter().all(|v| *v == 0.5) && out[250..].iter().all(|v| *v == 0.0));
}

#[test]
fn ties_rescale_l1_preserves_the_norm() {
    let n = 50_000;
    let base = noise(n, 4, 1.0);
    let x: Vec<f32> = base
        .iter()
        .zip(noise(n, 5, 0.1))
        .map(|(b, d)| b + d)
        .collect();
    let r = recipe(
        MethodKind::Ties,
        &[n],
        vec![input(1.0, &[(ParamName::Density, 0.2)])],
        &[(ParamName::Rescale, encoded::RESCALE_L1)],
        0,
    );
    let out = merge(&r, &base, &[&x]);
    let before: f64 = x.iter().zip(&base).map(|(x, b)| (x - b).abs() as f64).sum();
    let after: f64 = out
        .iter()
        .zip(&base)
        .map(|(o, b)| (o - b).abs() as f64)
        .sum();
    assert!((after / before - 1.0).abs() < 1e-4, "{after} vs {before}");
}

#[test]
fn dare_keeps_exactly_the_elements_whose_uniform_is_below_density() {
    let n = 2000;
    let base = vec![0.0; n];
    let inputs = [noise(n, 6, 1.0), noise(n, 7, 1.0)];
    let density = [(ParamName::Density, 0.4)];
    let r = recipe(
        MethodKind::DareLinear,
        &[n],
        vec![input(1.0, &density), input(1.0, &density)],
        &[(ParamName::Rescale, encoded::RESCALE_OFF)],
        1234,
    );
    let out = merge_chunked(&r, &base, &inputs, 1000, true);
    let streams: Vec<Stream> = (0..2)
        .map(|slot| Stream::new(1234, tensor_key(NAME), slot))
        .collect();
    let expected: Vec<f32> = (0..n)
        .map(|i| {
            let kept = |m: usize| {
                if streams[m].uniform(i as u32) < 0.4 {
                    inputs[m][i]
                } else {
                    0.0
                }
            };
            kept(0) + kept(1)
        })
        .collect();
    assert_eq!(bits(&out), bits(&expected));
    // Each model has its own mask.
    let same = (0..n as u32)
        .filter(|&i| (streams[0].uniform(i) < 0.4) == (streams[1].uniform(i) < 0.4))
        .count();
    assert!(same < n * 3 / 4);
}

#[test]
fn dare_keep_fraction_l1_and_inverse_rescale() {
    let n = 1 << 20;
    let base = noise(n, 8, 1.0);
    let x: Vec<f32> = base
        .iter()
        .zip(noise(n, 9, 0.01))
        .map(|(b, d)| b + d)
        .collect();
    let deltas: Vec<f32> = x.iter().zip(&base).map(|(x, b)| x - b).collect();
    let one = |rescale: f64| {
        recipe(
            MethodKind::DareLinear,
            &[n],
            vec![input(1.0, &[(ParamName::Density, 0.3)])],
            &[(ParamName::Rescale, rescale)],
            42,
        )
    };
    // L1 (the default for dare_*): compare sparse deltas with the dense ones.
    let out = merge(&one(encoded::RESCALE_L1), &vec![0.0; n], &[&deltas]);
    let kept = out.iter().filter(|v| **v != 0.0).count() as f64 / n as f64;
    assert!((kept - 0.3).abs() < 0.01 * 0.3, "kept fraction {kept}");
    let l1 = |v: &[f32]| v.iter().map(|x| x.abs() as f64).sum::<f64>();
    assert!((l1(&out) / l1(&deltas) - 1.0).abs() < 1e-4);
    // Inverse: kept deltas ÷ density.
    let out = merge(&one(encoded::RESCALE_INVERSE), &vec![0.0; n], &[&deltas]);
    for (o, d) in out.iter().zip(&deltas) {
        assert!(*o == 0.0 || (o - d / 0.3).abs() <= 1e-6 * d.abs().max(1e-30));
    }
    // And through a real base: base + sparse delta.
    let through = merge(&one(encoded::RESCALE_OFF), &base, &[&x]);
    let plain = merge(&one(encoded::RESCALE_OFF), &vec![0.0; n], &[deltas]);
    for ((t, p), b) in through.iter().zip(&plain).zip(&base) {
        assert!((t - b - p).abs() < 1e-6);
    }
}

#[test]
fn seeds_decide_random_masks() {
    let n = 30_000;
    let base = noise(n, 10, 1.0);
    let inputs = [noise(n, 11, 1.0), noise(n, 12, 1.0)];
    for method in [MethodKind::DareTies, MethodKind::Della] {
        let with_seed = |seed| {
            let params = [(ParamName::Density, 0.5), (ParamName::Epsilon, 0.1)];
            recipe(
                method,
                &[100, 300],
                vec![input(0.6, &params), input(0.4, &params)],
                &[],
                seed,
            )
        };
        let a = merge(&with_seed(7), &base, &inputs);
        assert_eq!(bits(&a), bits(&merge(&with_seed(7), &base, &inputs)));
        let b = merge(&with_seed(8), &base, &inputs);
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert!(differ > n / 10, "{method:?}: {differ}");
    }
}

#[test]
fn results_do_not_depend_on_chunking_or_apply_order() {
    let shape = [300, 700];
    let n = 300 * 700;
    let base = noise(n, 13, 1.0);
    // Coarse values so magnitude ties cross chunk boundaries.
    let inputs: Vec<Vec<f32>> = (14..17)
        .map(|salt| {
            noise(n, salt, 1.0)
                .iter()
                .zip(&base)
                .map(|(d, b)| b + (d * 64.0).round() / 64.0)
                .collect()
        })
        .collect();
    for method in [
        MethodKind::Ties,
        MethodKind::DareTies,
        MethodKind::DareLinear,
        MethodKind::Breadcrumbs,
        MethodKind::BreadcrumbsTies,
        MethodKind::Della,
        MethodKind::DellaLinear,
    ] {
        let r = recipe(method, &shape, three_inputs(0.4, 0.05, 0.2), &[], 3);
        let reference = bits(&merge_chunked(&r, &base, &inputs, 1 << 20, false));
        for (chunk, reverse) in [(1000, true), (4096, false), (4096, true), (1 << 20, true)] {
            let out = merge_chunked(&r, &base, &inputs, chunk, reverse);
            assert!(
                bits(&out) == reference,
                "{method:?} chunk {chunk} reverse {reverse}"
            );
        }
    }
}

/// Like [`merge_chunked`], with statistics gathered the way executors gather them when
/// `statistics_by_input`: each input's observer fed its stored bytes and the base's, chunk by
/// chunk, every input through all chunks before the next.
fn merge_by_input(
    recipe: &TensorRecipe,
    base: (&[u8], DType),
    inputs: &[(Vec<u8>, DType)],
    chunk: usize,
) -> Vec<f32> {
    let mut merger = build_merger(recipe).unwrap();
    assert!(merger.statistics_by_input(), "{:?}", recipe.method);
    let align = merger.row_alignment().max(1);
    let step = (chunk / align).max(1) * align;
    let numel = base.0.len() / base.1.size();
    fn stored((bytes, dtype): (&[u8], DType), range: Range<usize>) -> Stored<'_> {
        Stored {
            bytes: &bytes[range.start * dtype.size()..range.end * dtype.size()],
            dtype,
        }
    }
    let mut pass = 0;
    while pass < merger.stat_passes() {
        for observer in merger.input_statistics(pass).iter_mut() {
            let (bytes, dtype) = &inputs[observer.input()];
            for start in (0..numel).step_by(step) {
                let range = start..(start + step).min(numel);
                let input = stored((bytes, *dtype), range.clone());
                observer.observe_stored(start, input, stored(base, range));
            }
        }
        merger.finish_pass(pass);
        pass += 1;
    }
    let base = decoded(base.0, base.1);
    let inputs: Vec<Vec<f32>> = inputs.iter().map(|(b, d)| decoded(b, *d)).collect();
    let parts: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let mut out = vec![f32::NAN; numel];
    let chunk = Chunk {
        start: 0,
        base: Some(&base),
        inputs: &parts,
    };
    merger.apply(&chunk, &mut out);
    out
}

fn decoded(bytes: &[u8], dtype: DType) -> Vec<f32> {
    let mut values = vec![0.0; bytes.len() / dtype.size()];
    dtype.decode(bytes, &mut values);
    values
}

#[test]
fn statistics_by_input_from_stored_bytes_match_observing_decoded_chunks() {
    let shape = [300, 700];
    let n = 300 * 700;
    let encode = |values: &[f32], dtype: DType| {
        let mut bytes = vec![0u8; values.len() * dtype.size()];
        dtype.encode(values, &mut bytes);
        bytes
    };
    // The base in bf16, the inputs in bf16, f16 and f32: mixed dtypes decode alike.
    let base = encode(&noise(n, 21, 1.0), DType::BF16);
    let inputs: Vec<(Vec<u8>, DType)> = [(22, DType::BF16), (23, DType::F16), (24, DType::F32)]
        .into_iter()
        .map(|(salt, dtype)| {
            let x: Vec<f32> = noise(n, salt, 0.1)
                .iter()
                .zip(decoded(&base, DType::BF16))
                .map(|(d, b)| b + d)
                .collect();
            (encode(&x, dtype), dtype)
        })
        .collect();
    let base_values = decoded(&base, DType::BF16);
    let input_values: Vec<Vec<f32>> = inputs.iter().map(|(b, d)| decoded(b, *d)).collect();
    for method in [
        MethodKind::Ties,
        MethodKind::DareTies,
        MethodKind::Breadcrumbs,
        MethodKind::DellaLinear,
    ] {
        for rescale in [0.0, encoded::RESCALE_L1] {
            let r = recipe(
                method,
                &shape,
                three_inputs(0.3, 0.02, 0.1),
                &[(ParamName::Rescale, rescale)],
                5,
            );
            let reference = bits(&merge_chunked(&r, &base_values, &input_values, 4096, false));
            for chunk in [1000, 1 << 16] {
                let out = merge_by_input(&r, (&base, DType::BF16), &inputs, chunk);
                assert!(
                    bits(&out) == reference,
                    "{method:?} rescale {rescale} chunk {chunk}"
                );
            }
        }
    }
}

fn breadcrumbs(d: &[f32], density: f64, gamma: f64) -> Vec<f32> {
    let params = [(ParamName::Density, density), (ParamName::Gamma, gamma)];
    let r = recipe(
        MethodKind::Breadcrumbs,
        &[d.len()],
        vec![input(1.0, &params)],
        &[],
        0,
    );
    merge_chunked(&r, &vec![0.0; d.len()], &[d.to_vec()], 3, true)
}

#[test]
fn breadcrumbs_by_hand_with_ties_at_both_cut_offs() {
    // Ascending |d|: .1(0) .2(4) .3(2) .3(6) .4(7) .5(1) .6(9) .7(5) .9(3) .9(8).
    let d = [0.1, -0.5, 0.3, 0.9, -0.2, 0.7, 0.3, 0.4, -0.9, 0.6];
    // n_top 2, target 5, n_bot 3: both .9 go, of the tied .3s the lower index stays.
    assert_eq!(
        breadcrumbs(&d, 0.5, 0.2),
        [0.0, -0.5, 0.3, 0.0, 0.0, 0.7, 0.0, 0.4, 0.0, 0.6]
    );
    // n_top 1: of the tied .9s the lower index (3) is dropped; n_bot 4 drops both .3s.
    assert_eq!(
        breadcrumbs(&d, 0.5, 0.1),
        [0.0, -0.5, 0.0, 0.0, 0.0, 0.7, 0.0, 0.4, -0.9, 0.6]
    );
}

#[test]
fn breadcrumbs_gamma_zero_keeps_the_top() {
    let d = [0.1, -0.5, 0.3, 0.9, -0.2, 0.7, 0.3, 0.4, -0.8, 0.6];
    // mergekit would zero everything here; the intended window is the top 3.
    assert_eq!(
        breadcrumbs(&d, 0.3, 0.0),
        [0.0, 0.0, 0.0, 0.9, 0.0, 0.7, 0.0, 0.0, -0.8, 0.0]
    );
}

#[test]
fn della_by_hand() {
    // Two rows of four; p by rank within the row: 0.3, 0.4333, 0.5667, 0.7.
    let d = [0.4, -0.1, 0.3, 0.2, 5.0, 6.0, -7.0, 8.0];
    let ranks = [3, 0, 2, 1, 0, 1, 2, 3];
    let params = [(ParamName::Density, 0.5), (ParamName::Epsilon, 0.2)];
    for seed in 0..20 {
        let r = recipe(
            MethodKind::DellaLinear,
            &[2, 4],
            vec![input(1.0, &params)],
            &[(ParamName::Rescale, encoded::RESCALE_OFF)],
            seed,
        );
        let stream = Stream::new(seed, tensor_key(NAME), 0);
        let expected: Vec<f32> = (0..8)
            .map(|i| {
                let p = 0.3f32 + (ranks[i] as f32 / 3.0) * 0.4f32;
                if stream.uniform(i as u32) < p {
                    d[i]
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(merge(&r, &[0.0; 8], &[d.to_vec()]), expected, "seed {seed}");
    }
}

#[test]
fn della_keeps_more_of_the_large_and_preserves_l1() {
    let (rows, cols) = (200, 1000);
    let n = rows * cols;
    let d = noise(n, 20, 1.0);
    let params = [(ParamName::Density, 0.5), (ParamName::Epsilon, 0.3)];
    let r = recipe(
        MethodKind::DellaLinear,
        &[rows, cols],
        vec![input(1.0, &params)],
        &[],
        5,
    );
    let out = merge_chunked(&r, &vec![0.0; n], &[&d], 4096, true);
    let l1 = |v: &[f32]| v.iter().map(|x| x.abs() as f64).sum::<f64>();
    assert!((l1(&out) / l1(&d) - 1.0).abs() < 1e-4);
    let kept = |lo: f32, hi: f32| {
        let (k, t) = d.iter().zip(&out).fold((0, 0), |(k, t), (x, o)| {
            let inside = (lo..hi).contains(&x.abs());
            (k + (inside && *o != 0.0) as usize, t + inside as usize)
        });
        k as f64 / t as f64
    };
    // Smallest tenth ≈ 0.2..0.26 kept, largest tenth ≈ 0.74..0.8.
    assert!(kept(0.0, 0.1) < 0.3 && kept(0.9, 1.0) > 0.7);
    assert!((out.iter().filter(|v| **v != 0.0).count() as f64 / n as f64 - 0.5).abs() < 0.01);
}

#[test]
fn della_rejects_density_epsilon_outside_the_unit_interval() {
    let params = [(ParamName::Density, 0.3), (ParamName::Epsilon, 0.3)];
    let r = recipe(
        MethodKind::Della,
        &[4, 4],
        vec![input(1.0, &params)],
        &[],
        0,
    );
    match build_merger(&r) {
        Err(MergeError::Unsupported(msg)) => {
            assert!(msg.contains(NAME) && msg.contains("epsilon"), "{msg}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("accepted density 0.3 with epsilon 0.3"),
    }
}

#[test]
fn density_one_keeps_every_delta_unscaled() {
    let n = 1000;
    let base = noise(n, 21, 1.0);
    let x = noise(n, 22, 1.0);
    let ta = recipe(
        MethodKind::TaskArithmetic,
        &[n],
        vec![input(0.8, &[])],
        &[],
        0,
    );
    let expected = bits(&merge(&ta, &base, &[&x]));
    for method in [
        MethodKind::DareLinear,
        MethodKind::Breadcrumbs,
        MethodKind::DellaLinear,
    ] {
        let r = recipe(method, &[n], vec![input(0.8, &[])], &[], 0);
        assert_eq!(bits(&merge(&r, &base, &[&x])), expected, "{method:?}");
    }
}

/// With L1 rescale the statistics pass records the masks; they must be the masks drawn without
/// it (rescale off) and only the scale may differ: one factor for every kept element.
#[test]
fn recorded_l1_masks_equal_the_masks_drawn_without_statistics() {
    let (rows, cols) = (37, 300);
    let n = rows * cols;
    let d = noise(n, 23, 1.0);
    let params = [(ParamName::Density, 0.35), (ParamName::Epsilon, 0.15)];
    for method in [MethodKind::DareLinear, MethodKind::DellaLinear] {
        let with = |rescale: f64| {
            recipe(
                method,
                &[rows, cols],
                vec![input(1.0, &params)],
                &[(ParamName::Rescale, rescale)],
                9,
            )
        };
        let drawn = merge_chunked(
            &with(encoded::RESCALE_OFF),
            &vec![0.0; n],
            &[&d],
            1000,
            true,
        );
        let recorded = merge_chunked(&with(encoded::RESCALE_L1), &vec![0.0; n], &[&d], 1000, true);
        let mask = |v: &[f32]| v.iter().map(|x| *x != 0.0).collect::<Vec<_>>();
        assert_eq!(mask(&recorded), mask(&drawn), "{method:?}");
        let factors: Vec<f32> = recorded
            .iter()
            .zip(&d)
            .filter(|(r, _)| **r != 0.0)
            .map(|(r, x)| r / x)
            .collect();
        let first = factors[0];
        assert!(first > 1.0, "{method:?}: factor {first}");
        assert!(
            factors.iter().all(|f| (f / first - 1.0).abs() < 1e-6),
            "{method:?}"
        );
        if method == MethodKind::DareLinear {
            let stream = Stream::new(9, tensor_key(NAME), 0);
            let expected: Vec<bool> = (0..n as u32).map(|i| stream.uniform(i) < 0.35).collect();
            assert_eq!(mask(&recorded), expected);
        }
    }
}
