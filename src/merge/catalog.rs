//! The catalogue of merge methods: a list of descriptors, each declared in its method's own file
//! (key, base policy, arity, parameters, CPU constructor, GPU route). It is the single source of
//! truth for config validation, planning, the GPU's routing, the page's parameter form and the
//! README's table. Adding a method: its variant here, its file with its descriptor, its tests.

use serde::Serialize;

use super::{TensorMerge, TensorRecipe};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    Linear,
    Passthrough,
    TaskArithmetic,
    Ties,
    DareLinear,
    DareTies,
    Breadcrumbs,
    BreadcrumbsTies,
    Della,
    DellaLinear,
    Slerp,
    Nuslerp,
    Multislerp,
    Karcher,
    ModelStock,
    Sce,
    Nearswap,
    Ram,
    ArceeFusion,
}

/// Whether a method needs or allows `base_model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BasePolicy {
    Required,
    Optional,
}

/// Which GPU kernel family merges a method; the GPU side routes by this alone (a method without
/// one runs on the CPU), so nothing reaches a kernel that was not written for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GpuRoute {
    Linear,
    Passthrough,
    Nearswap,
    Ram,
    /// The generalized task arithmetic kernel (sparsify, consensus, weighted sum).
    Gta,
    /// GTA with DELLA's per-row magnitude-rank sampling.
    Della,
    Sce,
    ArceeFusion,
    Slerp,
    Nuslerp,
    Multislerp,
    Karcher,
    ModelStock,
}

/// Everything the engine knows about one method.
pub struct MethodDescriptor {
    pub kind: MethodKind,
    /// The `merge_method` key of recipes.
    pub key: &'static str,
    pub base: BasePolicy,
    /// No special base: a base listed under `models:` is merged like the rest.
    pub merges_listed_base: bool,
    /// Inclusive bounds on the number of non-base models merged.
    pub arity: (usize, usize),
    /// Draws random numbers (and so depends on the seed).
    pub random: bool,
    pub params: &'static [ParamDecl],
    /// The CPU kernel for one tensor.
    pub cpu: fn(&TensorRecipe) -> Result<Box<dyn TensorMerge>>,
    pub gpu: Option<GpuRoute>,
    /// Where the method comes from, for model cards; `None` for mergekit's own methods.
    pub paper: Option<Paper>,
}

/// A method's source: the name it is known by and a link to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paper {
    pub name: &'static str,
    pub url: &'static str,
}

/// Every method, in the order the page and the README list them.
pub static METHODS: [&MethodDescriptor; 19] = [
    &super::linear::LINEAR,
    &super::passthrough::PASSTHROUGH,
    &super::gta_methods::TASK_ARITHMETIC,
    &super::gta_methods::TIES,
    &super::gta_methods::DARE_LINEAR,
    &super::gta_methods::DARE_TIES,
    &super::gta_methods::BREADCRUMBS,
    &super::gta_methods::BREADCRUMBS_TIES,
    &super::gta_methods::DELLA,
    &super::gta_methods::DELLA_LINEAR,
    &super::slerp::SLERP,
    &super::slerp::NUSLERP,
    &super::hypersphere::MULTISLERP,
    &super::hypersphere::KARCHER,
    &super::model_stock::MODEL_STOCK,
    &super::sce::SCE,
    &super::nearswap::NEARSWAP,
    &super::ram::RAM,
    &super::arcee_fusion::ARCEE_FUSION,
];

/// Any number of models, at least one.
pub const ANY_NUMBER: (usize, usize) = (1, usize::MAX);

/// Where a parameter is looked up: once per tensor, or once per (tensor, model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    Global,
    PerModel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamName {
    Weight,
    Density,
    Gamma,
    Epsilon,
    Lambda,
    Normalize,
    Rescale,
    Int8Mask,
    Consensus,
    T,
    FilterWise,
    SelectTopk,
    Eps,
    MaxIter,
    Tol,
    NuslerpFlatten,
    NuslerpRowWise,
    Scale,
}

/// The kind of value a parameter takes; numbers carry their allowed closed range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum ParamKind {
    Number {
        min: f64,
        max: f64,
    },
    Flag,
    /// `rescale`: false / true (L1-norm preserving, mergekit) / "inverse" (divide by keep probability).
    RescaleMode,
    /// `consensus`: "sum" (mergekit, weighted mass) / "count" (sign count).
    ConsensusMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamDecl {
    pub name: ParamName,
    pub scope: Scope,
    pub kind: ParamKind,
    /// `None`: required (waived for the base model when per-model).
    pub default: Option<f64>,
}

impl ParamName {
    pub const ALL: [ParamName; 18] = [
        ParamName::Weight,
        ParamName::Density,
        ParamName::Gamma,
        ParamName::Epsilon,
        ParamName::Lambda,
        ParamName::Normalize,
        ParamName::Rescale,
        ParamName::Int8Mask,
        ParamName::Consensus,
        ParamName::T,
        ParamName::FilterWise,
        ParamName::SelectTopk,
        ParamName::Eps,
        ParamName::MaxIter,
        ParamName::Tol,
        ParamName::NuslerpFlatten,
        ParamName::NuslerpRowWise,
        ParamName::Scale,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ParamName::Weight => "weight",
            ParamName::Density => "density",
            ParamName::Gamma => "gamma",
            ParamName::Epsilon => "epsilon",
            ParamName::Lambda => "lambda",
            ParamName::Normalize => "normalize",
            ParamName::Rescale => "rescale",
            ParamName::Int8Mask => "int8_mask",
            ParamName::Consensus => "consensus",
            ParamName::T => "t",
            ParamName::FilterWise => "filter_wise",
            ParamName::SelectTopk => "select_topk",
            ParamName::Eps => "eps",
            ParamName::MaxIter => "max_iter",
            ParamName::Tol => "tol",
            ParamName::NuslerpFlatten => "nuslerp_flatten",
            ParamName::NuslerpRowWise => "nuslerp_row_wise",
            ParamName::Scale => "scale",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }
}

/// Encodings of the word-valued parameters as numbers, so every resolved value is an f64.
pub mod encoded {
    pub const RESCALE_OFF: f64 = 0.0;
    pub const RESCALE_L1: f64 = 1.0;
    pub const RESCALE_INVERSE: f64 = 2.0;
    pub const CONSENSUS_SUM: f64 = 0.0;
    pub const CONSENSUS_COUNT: f64 = 1.0;
}

pub const UNIT: ParamKind = ParamKind::Number { min: 0.0, max: 1.0 };
pub const ANY: ParamKind = ParamKind::Number {
    min: f64::NEG_INFINITY,
    max: f64::INFINITY,
};
pub const NON_NEGATIVE: ParamKind = ParamKind::Number {
    min: 0.0,
    max: f64::INFINITY,
};

pub const fn decl(
    name: ParamName,
    scope: Scope,
    kind: ParamKind,
    default: Option<f64>,
) -> ParamDecl {
    ParamDecl {
        name,
        scope,
        kind,
        default,
    }
}

pub const WEIGHT_REQUIRED: ParamDecl = decl(ParamName::Weight, Scope::PerModel, ANY, None);
pub const DENSITY: ParamDecl = decl(ParamName::Density, Scope::PerModel, UNIT, Some(1.0));
pub const LAMBDA: ParamDecl = decl(ParamName::Lambda, Scope::Global, ANY, Some(1.0));
pub const INT8_MASK: ParamDecl = decl(
    ParamName::Int8Mask,
    Scope::Global,
    ParamKind::Flag,
    Some(0.0),
);

impl MethodKind {
    pub fn all() -> impl Iterator<Item = MethodKind> {
        METHODS.iter().map(|d| d.kind)
    }

    pub fn descriptor(self) -> &'static MethodDescriptor {
        METHODS
            .iter()
            .find(|d| d.kind == self)
            .expect("every method kind has a descriptor in METHODS (a test checks)")
    }

    pub fn key(self) -> &'static str {
        self.descriptor().key
    }

    pub fn from_key(key: &str) -> Option<Self> {
        METHODS.iter().find(|d| d.key == key).map(|d| d.kind)
    }

    pub fn base_policy(self) -> BasePolicy {
        self.descriptor().base
    }

    pub fn merges_listed_base(self) -> bool {
        self.descriptor().merges_listed_base
    }

    pub fn arity(self) -> (usize, usize) {
        self.descriptor().arity
    }

    pub fn is_random(self) -> bool {
        self.descriptor().random
    }

    pub fn params(self) -> &'static [ParamDecl] {
        self.descriptor().params
    }

    pub fn gpu_route(self) -> Option<GpuRoute> {
        self.descriptor().gpu
    }

    /// The method's global parameters that have defaults, at those defaults.
    pub fn global_defaults(self) -> std::collections::BTreeMap<ParamName, f64> {
        self.params()
            .iter()
            .filter(|d| d.scope == Scope::Global)
            .filter_map(|d| d.default.map(|v| (d.name, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_descriptor_is_listed_once_under_its_own_key() {
        for (i, d) in METHODS.iter().enumerate() {
            assert_eq!(d.kind.descriptor().key, d.key);
            assert_eq!(MethodKind::from_key(d.key), Some(d.kind));
            assert!(
                METHODS[i + 1..]
                    .iter()
                    .all(|o| o.kind != d.kind && o.key != d.key),
                "{} listed twice",
                d.key
            );
            let names: Vec<_> = d.params.iter().map(|p| (p.name, p.scope)).collect();
            for (j, n) in names.iter().enumerate() {
                assert!(
                    !names[j + 1..].contains(n),
                    "{}: {:?} declared twice",
                    d.key,
                    n
                );
            }
        }
    }
}
