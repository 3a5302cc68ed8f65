//! Task-vector anatomy (`mixmerge::viz::anatomy`): hand-computed figures, masks equal to what a
//! real merge of the same models does, bad inputs named.

use crate::common;

use std::path::Path;

use common::{merge, read_values, tensor, write_model};
use mixmerge::dtype::DType;
use mixmerge::exec::ExecOptions;
use mixmerge::io::{open_checkpoint, Checkpoint, LocalSource};
use mixmerge::native::MergeOptions;
use mixmerge::viz::anatomy::{
    anatomy, svg, Anatomy, AnatomyOptions, TIES_AGREES, TIES_DISAGREES, TIES_DROPPED,
};
use mixmerge::MergeError;

const MATRIX: &str = "model.layers.0.mlp.up_proj.weight";
const ROWS: usize = 24;
const COLS: usize = 40;

/// A pseudo-random dyadic value in [-2, 2] (exact in f32, so sums are exact too).
fn value(seed: u32, i: usize) -> f32 {
    let h = (i as u32 ^ seed.wrapping_mul(0x9e37_79b9)).wrapping_mul(0x85eb_ca6b);
    let h = h ^ (h >> 13);
    ((h % 65) as f32 - 32.0) / 16.0
}

/// Writes `name` with two layers' worth of tensors plus an embedding; `tv(i)` is added to the
/// base's element i of every tensor.
fn write_with(dir: &Path, name: &str, tv: &dyn Fn(usize) -> f32) {
    let shapes: [(&str, Vec<usize>); 4] = [
        ("model.embed_tokens.weight", vec![8, 4]),
        (MATRIX, vec![ROWS, COLS]),
        ("model.layers.0.input_layernorm.weight", vec![COLS]),
        ("model.layers.1.mlp.up_proj.weight", vec![4, 6]),
    ];
    let tensors: Vec<_> = shapes
        .iter()
        .map(|(tensor_name, shape)| {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|i| value(7, i) + tv(i)).collect();
            tensor(tensor_name, DType::F32, shape, &values)
        })
        .collect();
    write_model(&dir.join(name), &tensors);
}

fn open(dir: &Path, name: &str) -> Checkpoint<LocalSource> {
    let mut checkpoint = open_checkpoint(&dir.join(name)).unwrap();
    checkpoint.name = name.to_string();
    checkpoint
}

fn run(dir: &Path, experts: &[&str], options: &AnatomyOptions) -> mixmerge::Result<Anatomy> {
    let base = open(dir, "base");
    let experts: Vec<_> = experts.iter().map(|e| open(dir, e)).collect();
    pollster::block_on(anatomy(&base, &experts, options))
}

#[test]
fn identical_and_opposite_task_vectors() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    write_with(dir.path(), "a", &|i| value(1, i));
    write_with(dir.path(), "same", &|i| value(1, i));
    write_with(dir.path(), "opposite", &|i| -value(1, i));
    let report = run(
        dir.path(),
        &["a", "same", "opposite"],
        &AnatomyOptions::default(),
    )
    .unwrap();
    assert_eq!(report.pairs[0], ["a".to_string(), "same".to_string()]);
    for figures in report
        .tensors
        .iter()
        .map(|t| &t.pairs)
        .chain([&report.overall])
    {
        let (same, opposite) = (figures[0], figures[1]);
        assert!((same.cosine.unwrap() - 1.0).abs() < 1e-12, "{same:?}");
        assert_eq!(same.conflict, Some(0.0));
        assert!(
            (opposite.cosine.unwrap() + 1.0).abs() < 1e-12,
            "{opposite:?}"
        );
        assert_eq!(opposite.conflict, Some(1.0));
    }
    // Layers in order, then the tensors outside numbered layers, file order within a layer.
    let layers: Vec<_> = report.layers.iter().map(|l| (l.layer, l.tensors)).collect();
    assert_eq!(layers, [(Some(0), 2), (Some(1), 1), (None, 1)]);
    assert_eq!(
        report.tensors.last().unwrap().name,
        "model.embed_tokens.weight"
    );
    let overlap: u64 = report.tensors[..2].iter().map(|t| t.pairs[2].overlap).sum();
    assert_eq!(report.layers[0].pairs[2].overlap, overlap);
}

#[test]
fn histogram_counts_sum_to_the_element_count() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    write_with(dir.path(), "a", &|i| value(1, i) / 64.0);
    write_with(dir.path(), "b", &|i| value(2, i) * 4.0);
    let report = run(dir.path(), &["a", "b"], &AnatomyOptions::default()).unwrap();
    let elements = (8 * 4 + ROWS * COLS + COLS + 4 * 6) as u64;
    for h in &report.histograms {
        assert_eq!(
            h.zeros + h.non_finite + h.counts.iter().sum::<u64>(),
            elements,
            "{}",
            h.model
        );
        assert!(h.zeros > 0, "value() is 0 for some elements");
    }
    // Both on one axis; b's |τ| reach 8 (octave 3), a's stay below 2^-5.
    let (a, b) = (&report.histograms[0], &report.histograms[1]);
    assert_eq!(
        (a.first_log2, a.counts.len()),
        (b.first_log2, b.counts.len())
    );
    assert_eq!(a.first_log2 + a.counts.len() as i32 - 1, 3);
    assert_eq!(*a.counts.last().unwrap(), 0);
    assert!(*b.counts.last().unwrap() > 0);
}

/// Merges `base` + experts with `method` (weight 1, density 0.5 each) in small chunks, f32 out.
fn merged_matrix(dir: &Path, experts: &[&str], method: &str, extra: &str, seed: u64) -> Vec<f32> {
    let mut config = format!("merge_method: {method}\nbase_model: base\nmodels:\n");
    for e in experts {
        config += &format!("  - model: {e}\n    parameters: {{weight: 1.0, density: 0.5}}\n");
    }
    config += &format!("{extra}dtype: float32\nout_dtype: float32\n");
    let options = MergeOptions {
        seed: Some(seed),
        overwrite: true,
        exec: ExecOptions {
            threads: 2,
            chunk_elements: 128,
        },
        ..MergeOptions::default()
    };
    merge(dir, &config, &options).unwrap();
    read_values(&dir.join("out"), MATRIX)
}

#[test]
fn ties_mask_is_the_merges_mask_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    let experts = ["a", "b", "c"];
    for (k, e) in experts.iter().enumerate() {
        write_with(dir.path(), e, &|i| value(10 + k as u32, i));
    }
    let options = AnatomyOptions {
        tensor: Some(MATRIX.into()),
        ..AnatomyOptions::default()
    };
    let report = run(dir.path(), &experts, &options).unwrap();
    let masks = &report.masks;
    assert_eq!((masks.matrix, masks.shown), ([ROWS, COLS], [ROWS, COLS]));
    let merged = merged_matrix(dir.path(), &experts, "ties", "", 0);
    let base = read_values(&dir.path().join("base"), MATRIX);
    let tvs: Vec<Vec<f32>> = experts
        .iter()
        .map(|e| {
            let x = read_values(&dir.path().join(e), MATRIX);
            x.iter().zip(&base).map(|(x, b)| x - b).collect()
        })
        .collect();
    // TIES: base + Σ agreeing kept τ / their count, summed in input order as the merge does.
    for e in 0..ROWS * COLS {
        let (mut mixed, mut divisor) = (0f32, 0f32);
        for (tv, cells) in tvs.iter().zip(&masks.images.ties) {
            let agrees = cells[e] == TIES_AGREES;
            mixed += if agrees { tv[e] } else { 0.0 };
            divisor += if agrees { 1.0 } else { 0.0 };
        }
        let expected = base[e] + mixed / if divisor == 0.0 { 1.0 } else { divisor };
        assert_eq!(expected.to_bits(), merged[e].to_bits(), "element {e}");
    }
    // Half of each τ survives the trim; counts match the cells; an element dropped by the trim
    // or outvoted is never counted as agreeing.
    for (counts, cells) in masks.ties.iter().zip(&masks.images.ties) {
        let kept = cells.iter().filter(|&&c| c != TIES_DROPPED).count() as u64;
        assert_eq!(counts.kept, kept);
        assert!(kept <= (ROWS * COLS / 2) as u64);
        assert_eq!(counts.agrees + counts.disagrees, counts.kept);
        assert!(counts.disagrees > 0, "random signs conflict somewhere");
        assert!(cells.contains(&TIES_DISAGREES));
    }
}

#[test]
fn dare_mask_is_the_merges_mask_bit_for_bit_and_follows_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    let experts = ["a", "b", "c"];
    // τ of expert k is 2^k everywhere: the merged value's bits say which experts were kept.
    for (k, e) in experts.iter().enumerate() {
        write_with(dir.path(), e, &|_| (1 << k) as f32);
    }
    let seed = 42;
    let options = AnatomyOptions {
        tensor: Some(MATRIX.into()),
        density: 0.5,
        seed,
    };
    let report = run(dir.path(), &experts, &options).unwrap();
    let merged = merged_matrix(
        dir.path(),
        &experts,
        "dare_linear",
        "parameters: {rescale: false}\n",
        seed,
    );
    let base = read_values(&dir.path().join("base"), MATRIX);
    for e in 0..ROWS * COLS {
        let kept_bits = (merged[e] - base[e]) as u32;
        for (k, cells) in report.masks.images.dare.iter().enumerate() {
            assert_eq!(
                cells[e] as u32,
                (kept_bits >> k) & 1,
                "element {e}, expert {k}"
            );
        }
    }
    let again = run(dir.path(), &experts, &options).unwrap();
    assert_eq!(again.masks.images.dare, report.masks.images.dare);
    let other = AnatomyOptions {
        seed: seed + 1,
        ..options
    };
    let reseeded = run(dir.path(), &experts, &other).unwrap();
    assert_ne!(reseeded.masks.images.dare[0], report.masks.images.dare[0]);
    for counts in &report.masks.dare {
        let share = counts.kept as f64 / (ROWS * COLS) as f64;
        assert!((share - 0.5).abs() < 0.1, "{share}");
    }
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    write_with(dir.path(), "a", &|i| value(1, i));
    write_model(
        &dir.path().join("lacking"),
        &[tensor(
            "model.embed_tokens.weight",
            DType::F32,
            &[8, 4],
            &[0.0; 32],
        )],
    );
    let err = run(dir.path(), &["a", "lacking"], &AnatomyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, MergeError::MissingTensor { tensor, model } if tensor == MATRIX && model == "lacking"),
        "{err}"
    );
    let mut wrong = vec![tensor(
        "model.embed_tokens.weight",
        DType::F32,
        &[8, 4],
        &[0.0; 32],
    )];
    wrong.push(tensor(
        MATRIX,
        DType::F32,
        &[COLS, ROWS],
        &vec![0.0; ROWS * COLS],
    ));
    wrong.push(tensor(
        "model.layers.0.input_layernorm.weight",
        DType::F32,
        &[COLS],
        &[0.0; COLS],
    ));
    wrong.push(tensor(
        "model.layers.1.mlp.up_proj.weight",
        DType::F32,
        &[4, 6],
        &[0.0; 24],
    ));
    write_model(&dir.path().join("transposed"), &wrong);
    let err = run(dir.path(), &["transposed"], &AnatomyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, MergeError::Mismatch { tensor, model, .. } if tensor == MATRIX && model == "transposed"),
        "{err}"
    );
    assert!(err.to_string().contains("[40, 24]"), "{err}");
    let unknown = AnatomyOptions {
        tensor: Some("model.layers.9.nothing".into()),
        ..AnatomyOptions::default()
    };
    let err = run(dir.path(), &["a"], &unknown).unwrap_err();
    assert!(
        matches!(&err, MergeError::MissingTensor { tensor, model } if tensor == "model.layers.9.nothing" && model == "base"),
        "{err}"
    );
    let err = run(dir.path(), &[], &AnatomyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, MergeError::Config { key, .. } if key == "models"),
        "{err}"
    );
    let dense = AnatomyOptions {
        density: 1.5,
        ..AnatomyOptions::default()
    };
    let err = run(dir.path(), &["a"], &dense).unwrap_err();
    assert!(
        matches!(&err, MergeError::Config { key, .. } if key == "density"),
        "{err}"
    );
}

#[test]
fn the_figure_draws_every_part() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    write_with(dir.path(), "a&b", &|i| value(1, i));
    write_with(dir.path(), "c", &|i| value(2, i));
    let report = run(dir.path(), &["a&b", "c"], &AnatomyOptions::default()).unwrap();
    // Default tensor: the first 2-D tensor of the lowest layer.
    assert_eq!(report.masks.tensor, MATRIX);
    let figure = svg::render(&report).unwrap();
    assert!(figure.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(figure.ends_with("</svg>\n"));
    // Two TIES masks, the elected sign, two DARE masks.
    assert_eq!(figure.matches("<image ").count(), 5);
    assert_eq!(figure.matches("<polyline ").count(), 2);
    assert!(figure.contains("a&amp;b") && !figure.contains("a&b"));
    // One row per tensor and layer plus the whole model, a cosine and a conflict cell per pair.
    let rows = report.tensors.len() + report.layers.len() + 1;
    let cells = 2 * report.pairs.len() * rows;
    let other_rects = 1 + 1 + 2 + 6; // background, histogram plot and its 2 swatches, mask legend
    assert_eq!(figure.matches("<rect ").count(), cells + other_rects);
    assert_eq!(
        figure.matches("<title>").count(),
        cells,
        "every cell has its exact value"
    );
}

#[test]
fn the_cli_writes_the_librarys_json_and_svg_and_names_bad_paths() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "base", &|_| 0.0);
    write_with(dir.path(), "a", &|i| value(1, i));
    write_with(dir.path(), "b", &|i| value(2, i));
    let (json, figure) = (dir.path().join("out.json"), dir.path().join("out.svg"));
    let cli = |models: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mixmerge"));
        command
            .args(["sweep", "anatomy", "--base"])
            .arg(dir.path().join("base"));
        command
            .arg("--models")
            .args(models.iter().map(|m| dir.path().join(m)));
        command
            .args(["--density", "0.25", "--seed", "3", "--json"])
            .arg(&json);
        command.arg("--svg").arg(&figure).output().unwrap()
    };
    let done = cli(&["a", "b"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let options = AnatomyOptions {
        tensor: None,
        density: 0.25,
        seed: 3,
    };
    let report = run(dir.path(), &["a", "b"], &options).unwrap();
    let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
    assert_eq!(std::fs::read_to_string(&json).unwrap(), expected);
    assert_eq!(
        std::fs::read_to_string(&figure).unwrap(),
        svg::render(&report).unwrap()
    );
    let failed = cli(&["a", "nowhere"]);
    assert!(!failed.status.success());
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(message.contains("nowhere"), "{message}");
}
