//! Config parsing: mergekit's example recipes, parameter resolution, and every rejection.

use std::path::Path;

use mixmerge::config::{
    evaluate, parse_config, parse_config_with, Condition, Layout, Lookup, MergeSpec, ParamValue,
    Parameters, ParseOptions, SliceSource, TokenizerSource,
};
use mixmerge::dtype::DType;
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName};
use mixmerge::{MergeError, Result};
use tempfile::TempDir;

/// A folder holding an (empty) directory for each model name.
fn models(names: &[&str]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
    }
    dir
}

fn parse(dir: &TempDir, text: &str) -> Result<MergeSpec> {
    parse_config(text, dir.path())
}

/// The key of a `Config` error, and its reason.
#[track_caller]
fn config_err(result: Result<MergeSpec>) -> (String, String) {
    match result {
        Err(MergeError::Config { key, reason }) => (key, reason),
        other => panic!("expected a Config error, got {other:?}"),
    }
}

#[track_caller]
fn unsupported(result: Result<MergeSpec>) -> String {
    match result {
        Err(MergeError::Unsupported(msg)) => msg,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

fn at(tensor: &str, t: f64, model: Option<usize>, slice: Option<usize>) -> Lookup<'_> {
    Lookup {
        tensor,
        t,
        model,
        slice,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

const LINEAR: &str = "
models:
  - model: psmathur/orca_mini_v3_13b
    parameters:
      weight: 1.0
  - model: WizardLM/WizardLM-13B-V1.2
    parameters:
      weight: 0.3
  - model: garage-bAInd/Platypus2-13B
    parameters:
      weight: 0.5
merge_method: linear
dtype: float16
";

#[test]
fn linear_recipe() {
    let dir = models(&[
        "psmathur/orca_mini_v3_13b",
        "WizardLM/WizardLM-13B-V1.2",
        "garage-bAInd/Platypus2-13B",
    ]);
    let spec = parse(&dir, LINEAR).unwrap();
    assert_eq!(spec.method, MethodKind::Linear);
    assert_eq!(spec.base, None);
    assert_eq!(spec.models.len(), 3);
    assert_eq!(spec.models[1].reference, "WizardLM/WizardLM-13B-V1.2");
    assert_eq!(
        spec.models[1].path,
        dir.path().join("WizardLM/WizardLM-13B-V1.2")
    );
    assert_eq!(
        spec.layout,
        Layout::Models {
            inputs: vec![0, 1, 2]
        }
    );
    assert_eq!(spec.dtype, Some(DType::F16));
    assert_eq!(spec.out_dtype, None);
    assert_eq!(spec.tokenizer_source, TokenizerSource::Base);
    assert_eq!(spec.mixup, None);
    assert_eq!(spec.source_text, LINEAR);
    let weights: Vec<f64> = (0..3)
        .map(|m| spec.param(ParamName::Weight, &at("lm_head.weight", 0.0, Some(m), None)))
        .collect();
    assert_eq!(weights, [1.0, 0.3, 0.5]);
    // Not given: the method's default (linear normalizes).
    assert_eq!(
        spec.param(ParamName::Normalize, &at("x", 0.0, None, None)),
        1.0
    );
}

#[test]
fn task_arithmetic_recipe() {
    let dir = models(&["base", "math", "code"]);
    let text = "
merge_method: task_arithmetic
base_model: base
models:
  - model: base          # listing the base is allowed; it is not merged
  - model: math
    parameters: {weight: 0.5}
  - model: ./code
    parameters: {weight: 0.3}
parameters:
  lambda: 0.8
dtype: float32
out_dtype: bf16
";
    let spec = parse(&dir, text).unwrap();
    assert_eq!(spec.base, Some(0));
    assert_eq!(spec.models.len(), 3);
    assert_eq!(spec.models[2].reference, "./code");
    assert_eq!(spec.layout, Layout::Models { inputs: vec![1, 2] });
    assert_eq!(spec.dtype, Some(DType::F32));
    assert_eq!(spec.out_dtype, Some(DType::BF16));
    let l = at("model.layers.3.mlp.up_proj.weight", 0.4, None, None);
    assert_eq!(spec.param(ParamName::Lambda, &l), 0.8);
    assert_eq!(spec.param(ParamName::Normalize, &l), 0.0);
    assert_eq!(
        spec.param(ParamName::Density, &at("x", 0.0, Some(1), None)),
        1.0
    );
    assert_eq!(
        spec.param(ParamName::Weight, &at("x", 0.0, Some(2), None)),
        0.3
    );
}

const TIES: &str = "
models:
  - model: psmathur/orca_mini_v3_13b
    parameters:
      density: [1, 0.7, 0.1] # density gradient
      weight: 1.0
  - model: garage-bAInd/Platypus2-13B
    parameters:
      density: 0.5
      weight: [0, 0.3, 0.7, 1] # weight gradient
  - model: WizardLM/WizardMath-13B-V1.0
    parameters:
      density: 0.33
      weight:
        - filter: mlp
          value: 0.5
        - value: 0
merge_method: ties
base_model: TheBloke/Llama-2-13B-fp16
parameters:
  normalize: true
  int8_mask: true
dtype: float16
";

#[test]
fn ties_recipe() {
    let dir = models(&[
        "psmathur/orca_mini_v3_13b",
        "garage-bAInd/Platypus2-13B",
        "WizardLM/WizardMath-13B-V1.0",
        "TheBloke/Llama-2-13B-fp16",
    ]);
    let spec = parse(&dir, TIES).unwrap();
    assert_eq!(spec.base, Some(0));
    assert_eq!(
        spec.layout,
        Layout::Models {
            inputs: vec![1, 2, 3]
        }
    );
    let p = |name, tensor, t, m| spec.param(name, &at(tensor, t, Some(m), None));
    assert!(close(p(ParamName::Density, "x", 0.25, 1), 0.85));
    assert!(close(p(ParamName::Density, "x", 0.75, 1), 0.4));
    assert!(close(p(ParamName::Weight, "x", 0.5, 2), 0.5));
    assert!(close(p(ParamName::Weight, "x", 1.0 / 3.0, 2), 0.3));
    assert_eq!(
        p(
            ParamName::Weight,
            "model.layers.0.mlp.up_proj.weight",
            0.0,
            3
        ),
        0.5
    );
    assert_eq!(
        p(ParamName::Weight, "model.embed_tokens.weight", 0.0, 3),
        0.0
    );
    let g = at("x", 0.0, None, None);
    assert_eq!(spec.param(ParamName::Int8Mask, &g), 1.0);
    assert_eq!(spec.param(ParamName::Normalize, &g), 1.0);
    assert_eq!(spec.param(ParamName::Lambda, &g), 1.0);
}

const SLERP: &str = "
slices:
  - sources:
      - model: psmathur/orca_mini_v3_13b
        layer_range: [0, 40]
      - model: garage-bAInd/Platypus2-13B
        layer_range: [0, 40]
merge_method: slerp
base_model: psmathur/orca_mini_v3_13b
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5 # fallback for rest of tensors
dtype: float16
";

#[test]
fn slerp_recipe_with_slices() {
    let dir = models(&["psmathur/orca_mini_v3_13b", "garage-bAInd/Platypus2-13B"]);
    let spec = parse(&dir, SLERP).unwrap();
    assert_eq!(spec.base, Some(0));
    assert_eq!(spec.models.len(), 2);
    let Layout::Slices(slices) = &spec.layout else {
        panic!("expected slices")
    };
    assert_eq!(slices.len(), 1);
    assert_eq!(
        slices[0].sources,
        [
            SliceSource {
                model: 0,
                layer_range: (0, 40)
            },
            SliceSource {
                model: 1,
                layer_range: (0, 40)
            }
        ]
    );
    let t = |tensor, pos| spec.param(ParamName::T, &at(tensor, pos, None, Some(0)));
    assert!(close(t("model.layers.0.self_attn.q_proj.weight", 0.0), 0.0));
    assert!(close(
        t("model.layers.5.self_attn.q_proj.weight", 0.125),
        0.25
    ));
    assert!(close(
        t("model.layers.20.self_attn.o_proj.weight", 0.5),
        0.3
    ));
    assert!(close(t("model.layers.39.mlp.down_proj.weight", 1.0), 0.0));
    assert!(close(t("model.layers.30.mlp.down_proj.weight", 0.75), 0.3));
    assert!(close(t("model.layers.7.input_layernorm.weight", 0.2), 0.5));
}

#[test]
fn slerp_needs_t_in_range_and_the_base_in_every_slice() {
    let dir = models(&["a", "b"]);
    let no_t = "
merge_method: slerp
base_model: a
slices:
  - sources:
      - {model: a, layer_range: [0, 4]}
      - {model: b, layer_range: [0, 4]}
";
    assert_eq!(config_err(parse(&dir, no_t)).0, "slices[0].parameters.t");
    let (key, reason) = config_err(parse(&dir, &format!("{no_t}parameters: {{t: 1.5}}\n")));
    assert_eq!(key, "parameters.t");
    assert!(reason.contains("[0, 1]"), "{reason}");
    let no_base_source = "
merge_method: slerp
base_model: a
parameters: {t: 0.5}
slices:
  - sources:
      - {model: b, layer_range: [0, 4]}
";
    assert_eq!(
        config_err(parse(&dir, no_base_source)).0,
        "slices[0].sources"
    );
    let (key, reason) = config_err(parse(
        &dir,
        "merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\nmodels: [{model: a}]\n",
    ));
    assert_eq!(key, "models");
    assert!(
        reason.contains("exactly 1 model besides the base"),
        "{reason}"
    );
}

#[test]
fn passthrough_frankenmerge() {
    let dir = models(&["mistral"]);
    let text = "
slices:
  - sources:
    - model: mistral
      layer_range: [0, 24]
  - sources:
    - model: mistral
      layer_range: [8, 32]
merge_method: passthrough
dtype: bfloat16
";
    let spec = parse(&dir, text).unwrap();
    assert_eq!(spec.method, MethodKind::Passthrough);
    assert_eq!(spec.models.len(), 1);
    let ranges: Vec<_> = match &spec.layout {
        Layout::Slices(slices) => slices
            .iter()
            .map(|s| {
                assert_eq!(s.sources.len(), 1);
                (s.sources[0].model, s.sources[0].layer_range)
            })
            .collect(),
        other => panic!("expected slices, got {other:?}"),
    };
    assert_eq!(ranges, [(0, (0, 24)), (0, (8, 32))]);
    assert_eq!(spec.params.per_slice.len(), 2);
    assert_eq!(
        spec.param(ParamName::Scale, &at("x", 0.0, None, Some(1))),
        1.0
    );

    let two_sources = text.replace(
        "    - model: mistral\n      layer_range: [8, 32]",
        "    - model: mistral\n      layer_range: [8, 32]\n    - model: other\n      layer_range: [0, 24]",
    );
    let dir = models(&["mistral", "other"]);
    let (key, reason) = config_err(parse(&dir, &two_sources));
    assert_eq!(key, "slices[1].sources");
    assert!(reason.contains("exactly 1 model in each slice"), "{reason}");
}

#[test]
fn gradient_is_interpolated_across_layers() {
    let g = ParamValue::Gradient(vec![0.0, 0.5, 1.0]);
    for (t, want) in [(0.0, 0.0), (0.25, 0.25), (0.5, 0.5), (0.6, 0.6), (1.0, 1.0)] {
        assert!(close(evaluate(&g, "w", t).unwrap(), want), "t={t}");
    }
    let g = ParamValue::Gradient(vec![1.0, 0.0, 0.6]);
    assert!(close(evaluate(&g, "w", 0.25).unwrap(), 0.5));
    assert!(close(evaluate(&g, "w", 0.75).unwrap(), 0.3));
    assert_eq!(
        evaluate(&ParamValue::Gradient(vec![0.4]), "w", 0.9),
        Some(0.4)
    );

    let dir = models(&["a", "b"]);
    let text = "
merge_method: linear
parameters:
  weight: [0, 0.5, 1]
models: [{model: a}, {model: b}]
";
    let spec = parse(&dir, text).unwrap();
    assert_eq!(
        spec.params.top[&ParamName::Weight],
        ParamValue::Gradient(vec![0.0, 0.5, 1.0])
    );
    let w = |t| {
        spec.param(
            ParamName::Weight,
            &at("model.layers.1.mlp", t, Some(1), None),
        )
    };
    assert!(close(w(0.0), 0.0));
    assert!(close(w(0.75), 0.75));
    assert!(close(w(1.0), 1.0));
}

#[test]
fn filters_match_substrings_first_match_wins() {
    let dir = models(&["a", "b"]);
    let text = "
merge_method: linear
models: [{model: a}, {model: b}]
parameters:
  weight:
    - filter: self_attn
      value: 0.3
    - filter: proj
      value: 0.1
    - filter: mlp
      value: 0.5
    - value: 0.7
";
    let spec = parse(&dir, text).unwrap();
    let w = |tensor| spec.param(ParamName::Weight, &at(tensor, 0.0, Some(0), None));
    assert_eq!(w("model.layers.0.self_attn.q_proj.weight"), 0.3);
    assert_eq!(w("model.layers.0.mlp.up_proj.weight"), 0.1);
    assert_eq!(w("model.layers.0.mlp.act"), 0.5);
    assert_eq!(w("model.embed_tokens.weight"), 0.7);
    let ParamValue::Conditional(conds) = &spec.params.top[&ParamName::Weight] else {
        panic!("expected conditions")
    };
    assert_eq!(conds[0].filter.as_deref(), Some("self_attn"));
    assert_eq!(conds[3].filter, None);

    // A filtered value that does not match falls through to the next level.
    let partial = ParamValue::Conditional(vec![Condition {
        filter: Some("mlp".into()),
        value: ParamValue::Scalar(0.9),
    }]);
    assert_eq!(evaluate(&partial, "model.norm.weight", 0.0), None);
    let star = ParamValue::Conditional(vec![Condition {
        filter: Some("*".into()),
        value: ParamValue::Scalar(0.2),
    }]);
    assert_eq!(evaluate(&star, "anything", 0.0), Some(0.2));
}

#[test]
fn precedence_source_then_slice_then_model_then_top() {
    let scalar = |x| {
        [(ParamName::Weight, ParamValue::Scalar(x))]
            .into_iter()
            .collect()
    };
    let mut p = Parameters {
        top: scalar(1.0),
        per_model: [(0, scalar(2.0))].into_iter().collect(),
        per_slice: vec![scalar(3.0)],
        per_source: vec![[(0, scalar(4.0))].into_iter().collect()],
    };
    let l = at("x", 0.0, Some(0), Some(0));
    assert_eq!(p.resolve(ParamName::Weight, &l), Some(4.0));
    // A global lookup skips the per-model levels.
    assert_eq!(
        p.resolve(ParamName::Weight, &at("x", 0.0, None, Some(0))),
        Some(3.0)
    );
    assert_eq!(
        p.resolve(ParamName::Weight, &at("x", 0.0, None, None)),
        Some(1.0)
    );
    assert_eq!(
        p.resolve(ParamName::Weight, &at("x", 0.0, Some(1), Some(0))),
        Some(3.0)
    );
    p.per_source[0].clear();
    assert_eq!(p.resolve(ParamName::Weight, &l), Some(3.0));
    p.per_slice[0].clear();
    assert_eq!(p.resolve(ParamName::Weight, &l), Some(2.0));
    p.per_model.clear();
    assert_eq!(p.resolve(ParamName::Weight, &l), Some(1.0));
    p.top.clear();
    assert_eq!(p.resolve(ParamName::Weight, &l), None);
    // A condition that matches nothing defers to the next level.
    p.top = scalar(1.0);
    p.per_model.insert(
        0,
        [(
            ParamName::Weight,
            ParamValue::Conditional(vec![Condition {
                filter: Some("mlp".into()),
                value: ParamValue::Scalar(5.0),
            }]),
        )]
        .into_iter()
        .collect(),
    );
    assert_eq!(
        p.resolve(ParamName::Weight, &at("a.mlp.b", 0.0, Some(0), None)),
        Some(5.0)
    );
    assert_eq!(
        p.resolve(ParamName::Weight, &at("a.attn.b", 0.0, Some(0), None)),
        Some(1.0)
    );
}

#[test]
fn precedence_in_a_config() {
    let dir = models(&["a", "b"]);
    let text = "
merge_method: linear
parameters: {weight: 0.1}
slices:
  - sources:
      - {model: a, layer_range: [0, 2], parameters: {weight: 0.3}}
      - {model: b, layer_range: [2, 4]}
    parameters: {weight: 0.2}
  - sources:
      - {model: a, layer_range: [2, 4]}
      - {model: b, layer_range: [0, 2]}
";
    let spec = parse(&dir, text).unwrap();
    let w = |m, s| spec.param(ParamName::Weight, &at("x", 0.0, Some(m), Some(s)));
    assert_eq!([w(0, 0), w(1, 0), w(0, 1), w(1, 1)], [0.3, 0.2, 0.1, 0.1]);
}

#[test]
fn word_and_flag_parameters() {
    let dir = models(&["base", "a", "b"]);
    let text = "
merge_method: dare_ties
base_model: base
models:
  - {model: a, parameters: {weight: 0.5, density: 0.4}}
  - {model: b, parameters: {weight: 0.5, density: 0.6}}
parameters: {rescale: inverse, consensus: count, int8_mask: false, normalize: true}
";
    let spec = parse(&dir, text).unwrap();
    let g = at("x", 0.0, None, None);
    assert_eq!(spec.param(ParamName::Rescale, &g), encoded::RESCALE_INVERSE);
    assert_eq!(
        spec.param(ParamName::Consensus, &g),
        encoded::CONSENSUS_COUNT
    );
    assert_eq!(spec.param(ParamName::Int8Mask, &g), 0.0);
    assert_eq!(spec.param(ParamName::Normalize, &g), 1.0);
    let with = |params: &str| text.replace("rescale: inverse, consensus: count", params);
    let spec = parse(&dir, &with("rescale: false")).unwrap();
    assert_eq!(spec.param(ParamName::Rescale, &g), encoded::RESCALE_OFF);
    assert_eq!(spec.param(ParamName::Consensus, &g), encoded::CONSENSUS_SUM);
    let spec = parse(&dir, &with("rescale: true")).unwrap();
    assert_eq!(spec.param(ParamName::Rescale, &g), encoded::RESCALE_L1);

    for (bad, key) in [
        ("rescale: 2", "parameters.rescale"),
        ("consensus: mean", "parameters.consensus"),
        ("consensus: [sum]", "parameters.consensus"),
    ] {
        assert_eq!(config_err(parse(&dir, &with(bad))).0, key, "{bad}");
    }
    let flag_number = text.replace("int8_mask: false", "int8_mask: 1");
    assert_eq!(
        config_err(parse(&dir, &flag_number)).0,
        "parameters.int8_mask"
    );
}

#[test]
fn tokenizer_source_and_mixup() {
    let dir = models(&["a", "b", "tok"]);
    let base = "merge_method: linear\nmodels: [{model: a}, {model: b}]\n";
    let spec = parse(
        &dir,
        &format!("{base}tokenizer_source: tok\nmixup: {{alpha: 0.4, seed: 7}}\n"),
    )
    .unwrap();
    assert_eq!(spec.models[2].reference, "tok");
    assert_eq!(spec.tokenizer_source, TokenizerSource::Model(2));
    let mixup = spec.mixup.unwrap();
    assert_eq!((mixup.alpha, mixup.seed), (0.4, Some(7)));
    let spec = parse(
        &dir,
        &format!("{base}tokenizer_source: a\nmixup: {{alpha: 2}}\n"),
    )
    .unwrap();
    assert_eq!(spec.tokenizer_source, TokenizerSource::Model(0));
    assert_eq!(spec.mixup.unwrap().seed, None);
    let spec = parse(
        &dir,
        &format!("{base}tokenizer_source: base\nparameters: {{weight: 1}}\n"),
    )
    .unwrap();
    assert_eq!(spec.tokenizer_source, TokenizerSource::Base);

    let msg = unsupported(parse(&dir, &format!("{base}tokenizer_source: union\n")));
    assert!(msg.contains("union"), "{msg}");
    for (mixup, key) in [
        ("{alpha: -1}", "mixup.alpha"),
        ("{alpha: 0}", "mixup.alpha"),
        ("{seed: 3}", "mixup.alpha"),
        ("{alpha: 1, seed: -3}", "mixup.seed"),
        ("{alpha: 1, beta: 2}", "mixup.beta"),
    ] {
        let text = format!("{base}mixup: {mixup}\n");
        assert_eq!(config_err(parse(&dir, &text)).0, key, "{mixup}");
    }
}

// ---- rejections ----

#[test]
fn rejects_unknown_top_level_key() {
    let dir = models(&["a"]);
    let (key, reason) = config_err(parse(&dir, "merge_method: linear\nmodel: [a]\n"));
    assert_eq!(key, "model");
    assert!(
        reason.contains("merge_method") && reason.contains("slices"),
        "{reason}"
    );
}

#[test]
fn rejects_known_but_unsupported_mergekit_features() {
    let dir = models(&["a", "b"]);
    let base = "merge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}]\n";
    for extra in [
        "modules: {}\n",
        "tokenizer: {source: union}\n",
        "chat_template: chatml\n",
    ] {
        let msg = unsupported(parse(&dir, &format!("{base}{extra}")));
        assert!(msg.contains(extra.split(':').next().unwrap()), "{msg}");
    }
    let lora = "merge_method: linear\nmodels: [{model: a+b, parameters: {weight: 1}}]\n";
    assert!(unsupported(parse(&dir, lora)).contains("LoRA"));
    let lora_base = "merge_method: task_arithmetic\nbase_model: a+lora\nmodels: [{model: b, parameters: {weight: 1}}]\n";
    assert!(unsupported(parse(&dir, lora_base)).contains("LoRA"));
}

#[test]
fn rejects_unknown_and_missing_method() {
    let dir = models(&["a"]);
    let (key, reason) = config_err(parse(&dir, "merge_method: average\nmodels: [{model: a}]\n"));
    assert_eq!(key, "merge_method");
    assert!(
        reason.contains("average") && reason.contains("task_arithmetic"),
        "{reason}"
    );
    let (key, _) = config_err(parse(
        &dir,
        "models: [{model: a, parameters: {weight: 1}}]\n",
    ));
    assert_eq!(key, "merge_method");
    let (key, _) = config_err(parse(&dir, "merge_method: 3\nmodels: [{model: a}]\n"));
    assert_eq!(key, "merge_method");
}

#[test]
fn rejects_yaml_syntax_and_non_mapping() {
    let dir = models(&["a"]);
    assert!(matches!(
        parse(&dir, "merge_method: [linear\n"),
        Err(MergeError::Yaml(_))
    ));
    assert!(matches!(
        parse(&dir, "merge_method: linear\nmerge_method: ties\n"),
        Err(MergeError::Yaml(_))
    ));
    assert_eq!(config_err(parse(&dir, "- linear\n")).0, "(top level)");
}

#[test]
fn rejects_weight_of_wrong_type() {
    let dir = models(&["a", "b"]);
    let text = "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n  - {model: b, parameters: {weight: abc}}\n";
    let (key, reason) = config_err(parse(&dir, text));
    assert_eq!(key, "models[1].parameters.weight");
    assert!(
        reason.contains("number") && reason.contains("abc"),
        "{reason}"
    );
    let quoted = text.replace("abc", "\"0.5\"");
    assert_eq!(
        config_err(parse(&dir, &quoted)).0,
        "models[1].parameters.weight"
    );
    let mixed = text.replace("abc", "[0.1, x]");
    assert_eq!(
        config_err(parse(&dir, &mixed)).0,
        "models[1].parameters.weight[1]"
    );
    let empty = text.replace("abc", "[]");
    assert_eq!(
        config_err(parse(&dir, &empty)).0,
        "models[1].parameters.weight"
    );
    let cond = text.replace("abc", "[{filter: mlp, valu: 1}]");
    assert_eq!(
        config_err(parse(&dir, &cond)).0,
        "models[1].parameters.weight[0].valu"
    );
}

#[test]
fn rejects_out_of_range_values() {
    let dir = models(&["base", "a"]);
    let text = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 1, density: 1.5}}\n";
    let (key, reason) = config_err(parse(&dir, text));
    assert_eq!(key, "models[0].parameters.density");
    assert!(
        reason.contains("1.5") && reason.contains("[0, 1]"),
        "{reason}"
    );
    let gradient = text.replace("1.5", "[0.5, 1, -0.1]");
    assert_eq!(
        config_err(parse(&dir, &gradient)).0,
        "models[0].parameters.density[2]"
    );
    let conditional = text.replace("1.5", "[{filter: mlp, value: 2}, {value: 0.5}]");
    assert_eq!(
        config_err(parse(&dir, &conditional)).0,
        "models[0].parameters.density[0].value"
    );
}

#[test]
fn rejects_mixup_with_three_models() {
    let dir = models(&["a", "b", "c"]);
    let text =
        "merge_method: linear\nmodels: [{model: a}, {model: b}, {model: c}]\nmixup: {alpha: 0.5}\n";
    let (key, reason) = config_err(parse(&dir, text));
    assert_eq!(key, "mixup");
    assert!(reason.contains("3 are given"), "{reason}");
    let passthrough = "merge_method: passthrough\nmodels: [{model: a}]\nmixup: {alpha: 0.5}\n";
    assert_eq!(config_err(parse(&dir, passthrough)).0, "mixup");
}

#[test]
fn rejects_unknown_parameter() {
    let dir = models(&["a"]);
    let (key, reason) = config_err(parse(
        &dir,
        "merge_method: linear\nmodels: [{model: a, parameters: {weight: 1, density: 0.5}}]\n",
    ));
    assert_eq!(key, "models[0].parameters.density");
    assert!(reason.contains("weight, normalize"), "{reason}");
    let (key, _) = config_err(parse(
        &dir,
        "merge_method: linear\nmodels: [{model: a}]\nparameters: {wieght: 1}\n",
    ));
    assert_eq!(key, "parameters.wieght");
}

#[test]
fn rejects_global_parameter_under_a_model() {
    let dir = models(&["a", "b"]);
    let (key, reason) = config_err(parse(
        &dir,
        "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1, normalize: false}}\n  - {model: b, parameters: {weight: 1}}\n",
    ));
    assert_eq!(key, "models[0].parameters.normalize");
    assert!(reason.contains("global"), "{reason}");
    let slice_source = "merge_method: passthrough\nslices:\n  - sources: [{model: a, layer_range: [0, 2], parameters: {scale: 2}}]\n";
    assert_eq!(
        config_err(parse(&dir, slice_source)).0,
        "slices[0].sources[0].parameters.scale"
    );
}

#[test]
fn rejects_missing_required_weight() {
    let dir = models(&["a", "b"]);
    let (key, reason) = config_err(parse(
        &dir,
        "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n  - {model: b}\n",
    ));
    assert_eq!(key, "models[1].parameters.weight");
    assert!(reason.contains("`b`"), "{reason}");
    // Filtered values without a catch-all do not cover every tensor.
    let (key, reason) = config_err(parse(
        &dir,
        "merge_method: linear\nmodels: [{model: a}, {model: b}]\nparameters: {weight: [{filter: mlp, value: 1}]}\n",
    ));
    assert_eq!(key, "models[0].parameters.weight");
    assert!(reason.contains("without `filter`"), "{reason}");
}

#[test]
fn rejects_missing_base_for_task_arithmetic() {
    let dir = models(&["a"]);
    let (key, reason) = config_err(parse(
        &dir,
        "merge_method: task_arithmetic\nmodels: [{model: a, parameters: {weight: 1}}]\n",
    ));
    assert_eq!(key, "base_model");
    assert!(reason.contains("task_arithmetic"), "{reason}");
}

#[test]
fn hub_ids_parse_and_missing_paths_do_not() {
    let dir = models(&["a"]);
    let text = "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n  - {model: mistralai/Mistral-7B-v0.1, parameters: {weight: 1}}\n";
    // A hub id names a hub model (found in the cache or streamed when the merge opens it).
    let spec = parse(&dir, text).unwrap();
    let hub = spec.models[1].hub.as_ref().expect("a hub model");
    assert_eq!(
        (hub.repo.as_str(), hub.revision.as_str()),
        ("mistralai/Mistral-7B-v0.1", "main")
    );
    assert_eq!(spec.models[0].hub, None);
    let pinned = parse(&dir, &text.replace("v0.1,", "v0.1@v2,")).unwrap();
    assert_eq!(pinned.models[1].hub.as_ref().unwrap().revision, "v2");
    // A local folder of that name wins over the hub.
    std::fs::create_dir_all(dir.path().join("mistralai/Mistral-7B-v0.1")).unwrap();
    assert_eq!(parse(&dir, text).unwrap().models[1].hub, None);
    let missing = text.replace("mistralai/Mistral-7B-v0.1", "./checkpoints/b");
    match parse(&dir, &missing) {
        Err(MergeError::ModelNotFound { path }) => {
            assert!(Path::new(&path).ends_with("checkpoints/b"), "{path}")
        }
        other => panic!("expected ModelNotFound, got {other:?}"),
    }
    // Without the existence check (no file system), both parse.
    let options = ParseOptions { check_paths: false };
    let spec = parse_config_with(text, dir.path(), &options).unwrap();
    assert_eq!(
        spec.models[1].path,
        dir.path().join("mistralai/Mistral-7B-v0.1")
    );
    // Absolute paths are taken as they are.
    let abs = text.replace(
        "mistralai/Mistral-7B-v0.1",
        &dir.path().join("a").display().to_string(),
    );
    let (key, _) = config_err(parse(&dir, &abs));
    assert_eq!(key, "models[1].model", "the same model listed twice");
}

#[test]
fn rejects_bad_dtype() {
    let dir = models(&["a"]);
    let text = "merge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}]\n";
    let (key, reason) = config_err(parse(&dir, &format!("{text}dtype: float8\n")));
    assert_eq!(key, "dtype");
    assert!(reason.contains("bfloat16"), "{reason}");
    assert_eq!(
        config_err(parse(&dir, &format!("{text}out_dtype: 16\n"))).0,
        "out_dtype"
    );
}

#[test]
fn rejects_bad_layer_ranges() {
    let dir = models(&["a", "b"]);
    let text = "merge_method: linear\nparameters: {weight: 1}\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 8]}\n      - {model: b, layer_range: RANGE}\n";
    let (key, reason) = config_err(parse(&dir, &text.replace("RANGE", "[0, 6]")));
    assert_eq!(key, "slices[0].sources[1].layer_range");
    assert!(reason.contains("same number of layers"), "{reason}");
    for (range, key) in [
        ("[1]", "slices[0].sources[1].layer_range"),
        ("[4, 4]", "slices[0].sources[1].layer_range"),
        ("[-1, 7]", "slices[0].sources[1].layer_range[0]"),
        ("[0, 7.5]", "slices[0].sources[1].layer_range[1]"),
        ("zero", "slices[0].sources[1].layer_range"),
    ] {
        assert_eq!(
            config_err(parse(&dir, &text.replace("RANGE", range))).0,
            key,
            "{range}"
        );
    }
    let spec = parse(&dir, &text.replace("RANGE", "[4, 12]")).unwrap();
    let Layout::Slices(slices) = &spec.layout else {
        panic!()
    };
    assert_eq!(slices[0].sources[1].layer_range, (4, 12));
}

#[test]
fn rejects_both_models_and_slices_or_neither() {
    let dir = models(&["a"]);
    let both = "merge_method: passthrough\nmodels: [{model: a}]\nslices:\n  - sources: [{model: a, layer_range: [0, 2]}]\n";
    let (_, reason) = config_err(parse(&dir, both));
    assert!(reason.contains("not both"), "{reason}");
    assert_eq!(
        config_err(parse(&dir, "merge_method: linear\n")).0,
        "models"
    );
}

#[test]
fn rejects_wrong_structure() {
    let dir = models(&["a"]);
    for (text, key) in [
        ("merge_method: linear\nmodels: {model: a}\n", "models"),
        ("merge_method: linear\nmodels: [a]\n", "models[0]"),
        (
            "merge_method: linear\nmodels: [{modle: a}]\n",
            "models[0].modle",
        ),
        (
            "merge_method: linear\nmodels: [{parameters: {weight: 1}}]\n",
            "models[0].model",
        ),
        (
            "merge_method: linear\nmodels: [{model: a, parameters: [1]}]\n",
            "models[0].parameters",
        ),
        (
            "merge_method: linear\nmodels: [{model: a}, {model: a}]\n",
            "models[1].model",
        ),
        ("merge_method: linear\nmodels: []\n", "models"),
        (
            "merge_method: linear\nslices: [{sources: []}]\n",
            "slices[0].sources",
        ),
    ] {
        assert_eq!(config_err(parse(&dir, text)).0, key, "{text}");
    }
}

#[test]
fn base_listed_among_models() {
    let dir = models(&["base", "a"]);
    // linear and passthrough have no notion of a base: a listed base is weighted like the rest.
    let linear = "
name: my-merge
merge_method: linear
base_model: base
models:
  - {model: a, parameters: {weight: 0.6}}
  - {model: base, parameters: {weight: 0.4}}
";
    let spec = parse(&dir, linear).unwrap();
    assert_eq!(spec.base, Some(0));
    assert_eq!(spec.layout, Layout::Models { inputs: vec![1, 0] });
    // A base that is given but not listed is not merged.
    let unlisted =
        "merge_method: linear\nbase_model: base\nmodels: [{model: a, parameters: {weight: 1}}]\n";
    assert_eq!(
        parse(&dir, unlisted).unwrap().layout,
        Layout::Models { inputs: vec![1] }
    );
    // Methods that merge around a base never merge it, and waive its required weight.
    let multislerp = "merge_method: multislerp\nbase_model: base\nmodels:\n  - {model: base}\n  - {model: a, parameters: {weight: 1}}\n";
    let spec = parse(&dir, multislerp).unwrap();
    assert_eq!(spec.layout, Layout::Models { inputs: vec![1] });
    let passthrough = "merge_method: passthrough\nbase_model: base\nslices:\n  - sources: [{model: base, layer_range: [0, 4]}]\n";
    let spec = parse(&dir, passthrough).unwrap();
    assert_eq!(spec.models.len(), 1);
}
