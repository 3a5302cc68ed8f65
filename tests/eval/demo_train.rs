//! Training the demo models with burn: seeded runs repeat exactly, seeds matter, the loss falls,
//! shards only split the work, frozen tensors keep their values, and saved weights load into
//! the inference model with the logits training saw.

use burn::prelude::Device;
use mixmerge::demo::tasks::{pretraining_line, DemoTask, Level, TrainingStream};
use mixmerge::demo::train::{
    batch_loss, is_embedding_or_norm, pack_row, train, DemoWeights, ExpertSpec, TrainOptions,
    TrainRow,
};
use mixmerge::demo::vocab::{config_json, DemoShape};
use mixmerge::io::{Checkpoint, MemorySource};
use mixmerge::model::{cpu_device, KvCache, Model};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TINY: DemoShape = DemoShape {
    hidden: 32,
    layers: 2,
    heads: 2,
    intermediate: 64,
    context: 32,
};

fn options(steps: usize) -> TrainOptions {
    TrainOptions {
        steps,
        rows: 2,
        row_len: 24,
        peak_lr: 1e-2,
        answers_only: false,
        shards: 1,
        freeze_embeddings_and_norms: false,
    }
}

/// Weights after `steps` of pre-training from `seed` (initialisation and data alike).
fn pretrain(seed: u64, steps: usize, device: &Device) -> (DemoWeights, Vec<f32>) {
    pretrain_with(seed, &options(steps), device)
}

fn pretrain_with(seed: u64, opts: &TrainOptions, device: &Device) -> (DemoWeights, Vec<f32>) {
    let mut weights = DemoWeights::init(&TINY, seed, device);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = || -> Vec<TrainRow> {
        (0..opts.rows)
            .map(|_| pack_row(&mut || pretraining_line(&mut rng), opts.row_len, false))
            .collect()
    };
    let losses = train(
        &mut weights,
        &config_json(&TINY),
        opts,
        &mut rows,
        &mut |_, _| {},
    )
    .unwrap();
    (weights, losses)
}

#[test]
fn shards_split_a_step_without_changing_what_it_computes() {
    let device = cpu_device().device;
    let (one, losses_one) = pretrain_with(8, &options(3), &device);
    let sharded = TrainOptions {
        shards: 2,
        ..options(3)
    };
    let (two, losses_two) = pretrain_with(8, &sharded, &device);
    let (again, losses_again) = pretrain_with(8, &sharded, &device);
    // The same shard count repeats bit for bit; another one sums in another order.
    assert_eq!(losses_two, losses_again);
    assert_eq!(two.flat_values().unwrap(), again.flat_values().unwrap());
    for (a, b) in losses_one.iter().zip(&losses_two) {
        assert!((a - b).abs() < 1e-5, "loss {a} vs {b}");
    }
    let worst = one
        .flat_values()
        .unwrap()
        .iter()
        .zip(two.flat_values().unwrap())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "weights differ by {worst}");
}

#[test]
fn frozen_embeddings_and_norms_keep_their_values() {
    let device = cpu_device().device;
    let frozen = TrainOptions {
        freeze_embeddings_and_norms: true,
        ..options(3)
    };
    let (trained, _) = pretrain_with(10, &frozen, &device);
    let initial = DemoWeights::init(&TINY, 10, &device);
    let mut moved = 0;
    for (after, before) in trained.weights.iter().zip(&initial.weights) {
        let (a, b) = (
            after
                .value
                .clone()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap(),
            before
                .value
                .clone()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap(),
        );
        if is_embedding_or_norm(&after.name) {
            assert_eq!(a, b, "{} moved", after.name);
        } else {
            assert_ne!(a, b, "{} did not train", after.name);
            moved += 1;
        }
    }
    assert_eq!(moved, TINY.layers * 7);
}

#[test]
fn expert_names_round_trip() {
    for name in ["sorting", "sorting-2", "unique-3", "descending"] {
        assert_eq!(ExpertSpec::parse(name).unwrap().name(), name);
    }
    for bad in ["sorting-1", "sorting-x", "adding", "sorting-"] {
        assert!(ExpertSpec::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn the_same_seed_gives_identical_weights_and_another_seed_does_not() {
    let device = cpu_device().device;
    let (a, losses_a) = pretrain(3, 4, &device);
    let (b, losses_b) = pretrain(3, 4, &device);
    let (c, _) = pretrain(4, 4, &device);
    assert_eq!(losses_a, losses_b);
    assert_eq!(a.flat_values().unwrap(), b.flat_values().unwrap());
    assert_ne!(a.flat_values().unwrap(), c.flat_values().unwrap());
    let initial = DemoWeights::init(&TINY, 3, &device).flat_values().unwrap();
    assert_ne!(
        a.flat_values().unwrap(),
        initial,
        "training changed nothing"
    );
}

#[test]
fn the_loss_falls_over_a_short_run() {
    let device = cpu_device().device;
    let (_, losses) = pretrain(5, 60, &device);
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let (first, last) = (mean(&losses[..5]), mean(&losses[55..]));
    assert!(
        first > 3.0,
        "an untrained model should be near ln(vocab): {first}"
    );
    assert!(last < first - 0.5, "loss {first} → {last}");
}

#[test]
fn fine_tuning_on_answers_lowers_the_answer_loss() {
    let device = cpu_device().device;
    let (mut weights, _) = pretrain(6, 20, &device);
    let mut stream = TrainingStream::new(DemoTask::Sorting, Level::Hard, 2);
    let opts = TrainOptions {
        answers_only: true,
        ..options(40)
    };
    let mut rows = || vec![pack_row(&mut || stream.next_example(), opts.row_len, true)];
    let losses = train(
        &mut weights,
        &config_json(&TINY),
        &opts,
        &mut rows,
        &mut |_, _| {},
    )
    .unwrap();
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let (first, last) = (mean(&losses[..5]), mean(&losses[35..]));
    // Answers are letters: in 40 steps the tiny model learns which tokens they use (≈0.3 nats).
    assert!(last < first - 0.25, "answer loss {first} → {last}");
}

#[test]
fn saved_weights_load_into_the_inference_model_with_the_same_logits() {
    let device = cpu_device().device;
    let (weights, _) = pretrain(7, 3, &device);
    let bytes = weights.to_safetensors().unwrap();
    let checkpoint = pollster::block_on(Checkpoint::from_sources(
        "demo".into(),
        vec![MemorySource::new("model.safetensors", bytes)],
        None,
    ))
    .unwrap();
    let loaded = pollster::block_on(DemoWeights::load(&TINY, &checkpoint, &device)).unwrap();
    let config = config_json(&TINY);
    let from_file = pollster::block_on(Model::load(&config, &checkpoint, &device)).unwrap();
    // The training path: autodiff leaves through the same Llama code.
    let from_leaves = pollster::block_on(Model::load(
        &config,
        &loaded.leaves(&vec![true; loaded.weights.len()]),
        &device.clone().autodiff(),
    ))
    .unwrap();
    let tokens = [3, 14, 15, 9, 2, 6, 5, 35];
    let logits = |model: &Model| {
        let out = model
            .forward(&tokens, &mut KvCache::new(TINY.layers))
            .unwrap();
        out.without_autodiff()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let (a, b) = (logits(&from_file), logits(&from_leaves));
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "largest logit difference {worst}");
    // Stored in f32: a task vector of any size survives the file exactly.
    assert_eq!(
        weights.flat_values().unwrap(),
        loaded.flat_values().unwrap()
    );
}

/// burn's autodiff through the inference Llama, checked at each tensor's largest gradient.
#[test]
fn gradients_match_finite_differences() {
    let device = cpu_device().device;
    let weights = DemoWeights::init(&TINY, 9, &device);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let rows: Vec<TrainRow> = (0..2)
        .map(|_| pack_row(&mut || pretraining_line(&mut rng), 20, false))
        .collect();
    let config = config_json(&TINY);
    let all = vec![true; weights.weights.len()];
    let loss_of = |w: &DemoWeights| {
        let ad = device.clone().autodiff();
        let model = pollster::block_on(Model::load(&config, &w.leaves(&all), &ad)).unwrap();
        let loss = batch_loss(&model, &rows, &ad).unwrap();
        loss.into_data().try_into_vec::<f32>().unwrap()[0] as f64
    };
    let leaves = weights.leaves(&all);
    let ad = device.clone().autodiff();
    let model = pollster::block_on(Model::load(&config, &leaves, &ad)).unwrap();
    let grads = batch_loss(&model, &rows, &ad).unwrap().backward();
    for (index, name) in weights
        .weights
        .iter()
        .enumerate()
        .map(|(i, w)| (i, w.name.clone()))
    {
        let grad = leaves.leaves[index]
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let (at, _) = grad.iter().enumerate().fold((0, 0f32), |best, (i, &g)| {
            if g.abs() > best.1 {
                (i, g.abs())
            } else {
                best
            }
        });
        let eps = 1e-2f32;
        let shifted = |delta: f32| {
            let mut w = weights.clone();
            let mut values = w.weights[index]
                .value
                .clone()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap();
            values[at] += delta;
            let dims = w.weights[index].value.dims();
            w.weights[index].value = burn::prelude::Tensor::from_data(
                burn::prelude::TensorData::new(values, dims),
                &device,
            );
            loss_of(&w)
        };
        let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
        let analytic = grad[at] as f64;
        // f32 central differences resolve about 5e-5 at this loss scale.
        assert!(
            (analytic - numeric).abs() <= 0.05 * numeric.abs() + 5e-5,
            "{name}[{at}]: autodiff {analytic}, finite differences {numeric}"
        );
    }
}
