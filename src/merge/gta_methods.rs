//! The methods the generalized task arithmetic kernel merges (`gta.rs`): one descriptor each.
//! They differ only in their sparsifier, consensus and defaults (`normalize`, `rescale`), and
//! breadcrumbs/DELLA in one extra per-model parameter.

use super::catalog::{
    decl, encoded, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, Paper, ParamDecl, ParamKind,
    ParamName, Scope, ANY_NUMBER, DENSITY, INT8_MASK, LAMBDA, UNIT, WEIGHT_REQUIRED,
};
use super::gta::GeneralizedTaskArithmetic;
use super::{TensorMerge, TensorRecipe};
use crate::error::Result;

/// The parameters every GTA method declares, with its defaults of `normalize` and `rescale`.
const fn shared(normalize: f64, rescale: f64) -> [ParamDecl; 7] {
    [
        WEIGHT_REQUIRED,
        DENSITY,
        LAMBDA,
        INT8_MASK,
        decl(
            ParamName::Normalize,
            Scope::Global,
            ParamKind::Flag,
            Some(normalize),
        ),
        decl(
            ParamName::Rescale,
            Scope::Global,
            ParamKind::RescaleMode,
            Some(rescale),
        ),
        decl(
            ParamName::Consensus,
            Scope::Global,
            ParamKind::ConsensusMode,
            Some(encoded::CONSENSUS_SUM),
        ),
    ]
}

/// `shared` and one more parameter.
const fn with(normalize: f64, rescale: f64, extra: ParamDecl) -> [ParamDecl; 8] {
    let s = shared(normalize, rescale);
    [s[0], s[1], s[2], s[3], s[4], s[5], s[6], extra]
}

const GAMMA: ParamDecl = decl(ParamName::Gamma, Scope::PerModel, UNIT, Some(0.01));
const EPSILON: ParamDecl = decl(ParamName::Epsilon, Scope::PerModel, UNIT, Some(0.15));
const OFF: f64 = encoded::RESCALE_OFF;
const L1: f64 = encoded::RESCALE_L1;

fn build(recipe: &TensorRecipe) -> Result<Box<dyn TensorMerge>> {
    Ok(Box::new(GeneralizedTaskArithmetic::new(recipe)?))
}

macro_rules! gta_method {
    ($name:ident, $params:ident, $kind:ident, $key:literal, $random:literal, $gpu:ident, $paper:expr, $n:literal = $decls:expr) => {
        pub static $name: MethodDescriptor = MethodDescriptor {
            kind: MethodKind::$kind,
            key: $key,
            base: BasePolicy::Required,
            merges_listed_base: false,
            arity: ANY_NUMBER,
            random: $random,
            params: &$params,
            cpu: build,
            gpu: Some(GpuRoute::$gpu),
            paper: $paper,
        };
        const $params: [ParamDecl; $n] = $decls;
    };
}

gta_method!(
    TASK_ARITHMETIC,
    TASK_ARITHMETIC_PARAMS,
    TaskArithmetic,
    "task_arithmetic",
    false,
    Gta,
    Some(Paper {
        name: "Task Arithmetic",
        url: "https://arxiv.org/abs/2212.04089"
    }),
    7 = shared(0.0, OFF)
);

gta_method!(
    TIES,
    TIES_PARAMS,
    Ties,
    "ties",
    false,
    Gta,
    Some(Paper {
        name: "TIES",
        url: "https://arxiv.org/abs/2306.01708"
    }),
    7 = shared(1.0, OFF)
);

gta_method!(
    DARE_LINEAR,
    DARE_LINEAR_PARAMS,
    DareLinear,
    "dare_linear",
    true,
    Gta,
    Some(Paper {
        name: "DARE",
        url: "https://arxiv.org/abs/2311.03099"
    }),
    7 = shared(0.0, L1)
);

gta_method!(
    DARE_TIES,
    DARE_TIES_PARAMS,
    DareTies,
    "dare_ties",
    true,
    Gta,
    Some(Paper {
        name: "DARE",
        url: "https://arxiv.org/abs/2311.03099"
    }),
    7 = shared(0.0, L1)
);

gta_method!(
    BREADCRUMBS,
    BREADCRUMBS_PARAMS,
    Breadcrumbs,
    "breadcrumbs",
    false,
    Gta,
    Some(Paper {
        name: "Model Breadcrumbs",
        url: "https://arxiv.org/abs/2312.06795"
    }),
    8 = with(0.0, OFF, GAMMA)
);

gta_method!(
    BREADCRUMBS_TIES,
    BREADCRUMBS_TIES_PARAMS,
    BreadcrumbsTies,
    "breadcrumbs_ties",
    false,
    Gta,
    Some(Paper {
        name: "Model Breadcrumbs",
        url: "https://arxiv.org/abs/2312.06795"
    }),
    8 = with(0.0, OFF, GAMMA)
);

gta_method!(
    DELLA,
    DELLA_PARAMS,
    Della,
    "della",
    true,
    Della,
    Some(Paper {
        name: "DELLA",
        url: "https://arxiv.org/abs/2406.11617"
    }),
    8 = with(1.0, L1, EPSILON)
);

gta_method!(
    DELLA_LINEAR,
    DELLA_LINEAR_PARAMS,
    DellaLinear,
    "della_linear",
    true,
    Della,
    Some(Paper {
        name: "DELLA",
        url: "https://arxiv.org/abs/2406.11617"
    }),
    8 = with(0.0, L1, EPSILON)
);
