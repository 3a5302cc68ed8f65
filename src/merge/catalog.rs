//! Every merge method and the parameters it declares: the single source of truth for config
//! validation, the page's parameter form and the README's table.

use serde::Serialize;

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

/// Whether a method needs, allows or ignores `base_model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BasePolicy {
    Required,
    Optional,
    Unused,
}

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

const UNIT: ParamKind = ParamKind::Number { min: 0.0, max: 1.0 };
const ANY: ParamKind = ParamKind::Number {
    min: f64::NEG_INFINITY,
    max: f64::INFINITY,
};
const NON_NEGATIVE: ParamKind = ParamKind::Number {
    min: 0.0,
    max: f64::INFINITY,
};

const fn decl(name: ParamName, scope: Scope, kind: ParamKind, default: Option<f64>) -> ParamDecl {
    ParamDecl {
        name,
        scope,
        kind,
        default,
    }
}

const WEIGHT_REQUIRED: ParamDecl = decl(ParamName::Weight, Scope::PerModel, ANY, None);
const DENSITY: ParamDecl = decl(ParamName::Density, Scope::PerModel, UNIT, Some(1.0));
const LAMBDA: ParamDecl = decl(ParamName::Lambda, Scope::Global, ANY, Some(1.0));
const INT8_MASK: ParamDecl = decl(
    ParamName::Int8Mask,
    Scope::Global,
    ParamKind::Flag,
    Some(0.0),
);

impl MethodKind {
    pub const ALL: [MethodKind; 19] = [
        MethodKind::Linear,
        MethodKind::Passthrough,
        MethodKind::TaskArithmetic,
        MethodKind::Ties,
        MethodKind::DareLinear,
        MethodKind::DareTies,
        MethodKind::Breadcrumbs,
        MethodKind::BreadcrumbsTies,
        MethodKind::Della,
        MethodKind::DellaLinear,
        MethodKind::Slerp,
        MethodKind::Nuslerp,
        MethodKind::Multislerp,
        MethodKind::Karcher,
        MethodKind::ModelStock,
        MethodKind::Sce,
        MethodKind::Nearswap,
        MethodKind::Ram,
        MethodKind::ArceeFusion,
    ];

    pub fn key(self) -> &'static str {
        match self {
            MethodKind::Linear => "linear",
            MethodKind::Passthrough => "passthrough",
            MethodKind::TaskArithmetic => "task_arithmetic",
            MethodKind::Ties => "ties",
            MethodKind::DareLinear => "dare_linear",
            MethodKind::DareTies => "dare_ties",
            MethodKind::Breadcrumbs => "breadcrumbs",
            MethodKind::BreadcrumbsTies => "breadcrumbs_ties",
            MethodKind::Della => "della",
            MethodKind::DellaLinear => "della_linear",
            MethodKind::Slerp => "slerp",
            MethodKind::Nuslerp => "nuslerp",
            MethodKind::Multislerp => "multislerp",
            MethodKind::Karcher => "karcher",
            MethodKind::ModelStock => "model_stock",
            MethodKind::Sce => "sce",
            MethodKind::Nearswap => "nearswap",
            MethodKind::Ram => "ram",
            MethodKind::ArceeFusion => "arcee_fusion",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.key() == key)
    }

    /// Methods whose CPU kernel exists in this build. The config parser rejects the others
    /// with a clear "not implemented yet" error rather than guessing.
    pub fn is_implemented(self) -> bool {
        // Every catalogued method has a CPU kernel; a new entry starts out false here.
        let _ = self;
        true
    }

    pub fn base_policy(self) -> BasePolicy {
        use MethodKind::*;
        match self {
            Linear | Passthrough | Multislerp | Karcher | Nuslerp => BasePolicy::Optional,
            Slerp | Nearswap => BasePolicy::Required,
            _ => BasePolicy::Required,
        }
    }

    /// Methods with no special base: a base listed under `models:` is merged like the rest.
    pub fn merges_listed_base(self) -> bool {
        matches!(
            self,
            MethodKind::Linear | MethodKind::Passthrough | MethodKind::Karcher
        )
    }

    /// Inclusive bounds on the number of non-base models the method merges.
    pub fn arity(self) -> (usize, usize) {
        use MethodKind::*;
        match self {
            Passthrough => (1, 1),
            Slerp | Nearswap | ArceeFusion => (1, 1),
            Nuslerp => (2, 2),
            ModelStock => (2, usize::MAX),
            _ => (1, usize::MAX),
        }
    }

    /// Whether the method draws random numbers (and so depends on the seed).
    pub fn is_random(self) -> bool {
        use MethodKind::*;
        // arcee_fusion samples positions for its quantiles above 1,000,000 elements.
        matches!(
            self,
            DareLinear | DareTies | Della | DellaLinear | ArceeFusion
        )
    }

    /// The method's global parameters that have defaults, at those defaults.
    pub fn global_defaults(self) -> std::collections::BTreeMap<ParamName, f64> {
        self.params()
            .into_iter()
            .filter(|d| d.scope == Scope::Global)
            .filter_map(|d| d.default.map(|v| (d.name, v)))
            .collect()
    }

    pub fn params(self) -> Vec<ParamDecl> {
        use MethodKind::*;
        use ParamName as P;
        use Scope::*;
        let gta = |normalize: f64, rescale: f64, extra: &[ParamDecl]| {
            let mut v = vec![
                WEIGHT_REQUIRED,
                DENSITY,
                LAMBDA,
                INT8_MASK,
                decl(P::Normalize, Global, ParamKind::Flag, Some(normalize)),
                decl(P::Rescale, Global, ParamKind::RescaleMode, Some(rescale)),
                decl(
                    P::Consensus,
                    Global,
                    ParamKind::ConsensusMode,
                    Some(encoded::CONSENSUS_SUM),
                ),
            ];
            v.extend_from_slice(extra);
            v
        };
        let gamma = decl(P::Gamma, PerModel, UNIT, Some(0.01));
        let epsilon = decl(P::Epsilon, PerModel, UNIT, Some(0.15));
        match self {
            Linear => vec![
                WEIGHT_REQUIRED,
                decl(P::Normalize, Global, ParamKind::Flag, Some(1.0)),
            ],
            Passthrough => vec![decl(P::Scale, Global, ANY, Some(1.0))],
            TaskArithmetic | DareLinear | DareTies | Breadcrumbs | BreadcrumbsTies => {
                let rescale = if matches!(self, DareLinear | DareTies) {
                    encoded::RESCALE_L1
                } else {
                    encoded::RESCALE_OFF
                };
                let extra: &[ParamDecl] = if matches!(self, Breadcrumbs | BreadcrumbsTies) {
                    &[gamma]
                } else {
                    &[]
                };
                gta(0.0, rescale, extra)
            }
            Ties => gta(1.0, encoded::RESCALE_OFF, &[]),
            Della => gta(1.0, encoded::RESCALE_L1, &[epsilon]),
            DellaLinear => gta(0.0, encoded::RESCALE_L1, &[epsilon]),
            Slerp => vec![decl(P::T, Global, UNIT, None)],
            Nuslerp => vec![
                decl(P::Weight, PerModel, ANY, None),
                decl(P::NuslerpFlatten, Global, ParamKind::Flag, Some(1.0)),
                decl(P::NuslerpRowWise, Global, ParamKind::Flag, Some(0.0)),
            ],
            Multislerp => vec![
                WEIGHT_REQUIRED,
                decl(P::Eps, Global, NON_NEGATIVE, Some(1e-8)),
            ],
            Karcher => vec![
                decl(P::MaxIter, Global, NON_NEGATIVE, Some(10.0)),
                decl(P::Tol, Global, NON_NEGATIVE, Some(1e-5)),
            ],
            ModelStock => vec![decl(P::FilterWise, Global, ParamKind::Flag, Some(0.0))],
            Sce => vec![decl(P::SelectTopk, Global, UNIT, Some(1.0)), INT8_MASK],
            Nearswap => vec![decl(P::T, Global, NON_NEGATIVE, None)],
            Ram => vec![decl(P::Epsilon, Global, NON_NEGATIVE, Some(1e-5))],
            ArceeFusion => vec![],
        }
    }
}
