//! The one file that names the WGSL sources: each kernel is its own file in `shaders/`, composed
//! after the shared preludes it needs and a line fixing the output dtype.

use crate::dtype::DType;

pub const DTYPE: &str = include_str!("../../shaders/common/dtype.wgsl");
pub const RNG: &str = include_str!("../../shaders/common/rng.wgsl");
pub const CHUNK: &str = include_str!("../../shaders/common/chunk.wgsl");
pub const ELEMENTWISE: &str = include_str!("../../shaders/common/elementwise.wgsl");
pub const SPARSIFY: &str = include_str!("../../shaders/common/sparsify.wgsl");
pub const REDUCE: &str = include_str!("../../shaders/common/reduce.wgsl");
pub const VECTORS: &str = include_str!("../../shaders/common/vectors.wgsl");
pub const DIVIDE: &str = include_str!("../../shaders/common/divide.wgsl");
pub const VARIANCE: &str = include_str!("../../shaders/common/variance.wgsl");
const LINEAR: &str = include_str!("../../shaders/linear.wgsl");
const PASSTHROUGH: &str = include_str!("../../shaders/passthrough.wgsl");
const NEARSWAP: &str = include_str!("../../shaders/nearswap.wgsl");
const GTA: &str = include_str!("../../shaders/gta.wgsl");
const SPARSIFY_L1: &str = include_str!("../../shaders/sparsify_l1.wgsl");
const TOPK: &str = include_str!("../../shaders/topk.wgsl");
const STATS: &str = include_str!("../../shaders/stats.wgsl");
const COMBINE: &str = include_str!("../../shaders/combine.wgsl");
const NUSLERP: &str = include_str!("../../shaders/nuslerp.wgsl");
const MODEL_STOCK: &str = include_str!("../../shaders/model_stock.wgsl");
const RAM: &str = include_str!("../../shaders/ram.wgsl");
const ARCEE_FUSION: &str = include_str!("../../shaders/arcee_fusion.wgsl");
const DELLA: &str = include_str!("../../shaders/della.wgsl");
const SCE: &str = include_str!("../../shaders/sce.wgsl");
const SCE_STATS: &str = include_str!("../../shaders/sce_stats.wgsl");

/// Every `.wgsl` file under `shaders/`, by its path there.
pub const FILES: &[(&str, &str)] = &[
    ("common/dtype.wgsl", DTYPE),
    ("common/rng.wgsl", RNG),
    ("common/chunk.wgsl", CHUNK),
    ("common/elementwise.wgsl", ELEMENTWISE),
    ("common/sparsify.wgsl", SPARSIFY),
    ("common/reduce.wgsl", REDUCE),
    ("common/vectors.wgsl", VECTORS),
    ("common/divide.wgsl", DIVIDE),
    ("common/variance.wgsl", VARIANCE),
    ("linear.wgsl", LINEAR),
    ("passthrough.wgsl", PASSTHROUGH),
    ("nearswap.wgsl", NEARSWAP),
    ("gta.wgsl", GTA),
    ("sparsify_l1.wgsl", SPARSIFY_L1),
    ("topk.wgsl", TOPK),
    ("stats.wgsl", STATS),
    ("combine.wgsl", COMBINE),
    ("nuslerp.wgsl", NUSLERP),
    ("model_stock.wgsl", MODEL_STOCK),
    ("ram.wgsl", RAM),
    ("arcee_fusion.wgsl", ARCEE_FUSION),
    ("della.wgsl", DELLA),
    ("sce.wgsl", SCE),
    ("sce_stats.wgsl", SCE_STATS),
];

/// One compute entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Linear,
    Passthrough,
    Nearswap,
    Gta,
    SparsifyL1,
    TopkHistogram,
    TopkHistogramGlobal,
    TopkCountKey,
    TopkLocate,
    Ram,
    ArceeFusion,
    DellaSortTiles,
    DellaRank,
    Sce,
    SceVariances,
    SceSquares,
    GramRows,
    GramColumns,
    Combine,
    Nuslerp,
    ModelStock,
}

impl Kernel {
    pub const ALL: [Kernel; 21] = [
        Kernel::Linear,
        Kernel::Passthrough,
        Kernel::Nearswap,
        Kernel::Gta,
        Kernel::SparsifyL1,
        Kernel::TopkHistogram,
        Kernel::TopkHistogramGlobal,
        Kernel::TopkCountKey,
        Kernel::TopkLocate,
        Kernel::GramRows,
        Kernel::GramColumns,
        Kernel::Combine,
        Kernel::Nuslerp,
        Kernel::ModelStock,
        Kernel::Ram,
        Kernel::ArceeFusion,
        Kernel::DellaSortTiles,
        Kernel::DellaRank,
        Kernel::Sce,
        Kernel::SceVariances,
        Kernel::SceSquares,
    ];

    pub fn file(self) -> &'static str {
        match self {
            Kernel::Linear => "linear.wgsl",
            Kernel::Passthrough => "passthrough.wgsl",
            Kernel::Nearswap => "nearswap.wgsl",
            Kernel::Gta => "gta.wgsl",
            Kernel::SparsifyL1 => "sparsify_l1.wgsl",
            Kernel::TopkHistogram
            | Kernel::TopkHistogramGlobal
            | Kernel::TopkCountKey
            | Kernel::TopkLocate => "topk.wgsl",
            Kernel::GramRows | Kernel::GramColumns => "stats.wgsl",
            Kernel::Combine => "combine.wgsl",
            Kernel::Nuslerp => "nuslerp.wgsl",
            Kernel::ModelStock => "model_stock.wgsl",
            Kernel::Ram => "ram.wgsl",
            Kernel::ArceeFusion => "arcee_fusion.wgsl",
            Kernel::DellaSortTiles | Kernel::DellaRank => "della.wgsl",
            Kernel::Sce => "sce.wgsl",
            Kernel::SceVariances | Kernel::SceSquares => "sce_stats.wgsl",
        }
    }

    pub fn entry(self) -> &'static str {
        match self {
            Kernel::TopkHistogram => "histogram",
            Kernel::TopkHistogramGlobal => "histogram_global",
            Kernel::TopkCountKey => "count_key",
            Kernel::TopkLocate => "locate",
            Kernel::GramRows => "gram_rows",
            Kernel::GramColumns => "gram_columns",
            Kernel::DellaSortTiles => "sort_tiles",
            Kernel::DellaRank => "rank",
            Kernel::SceVariances => "variances",
            Kernel::SceSquares => "squares",
            _ => "main",
        }
    }

    /// Writes merged elements (in the output dtype) rather than statistics.
    pub fn is_elementwise(self) -> bool {
        matches!(
            self,
            Kernel::Linear
                | Kernel::Passthrough
                | Kernel::Nearswap
                | Kernel::Gta
                | Kernel::Combine
                | Kernel::Nuslerp
                | Kernel::ModelStock
                | Kernel::Ram
                | Kernel::ArceeFusion
                | Kernel::Sce
        )
    }

    /// Preludes beyond the ones every kernel gets.
    fn preludes(self) -> &'static [&'static str] {
        match self {
            Kernel::SparsifyL1 => &[REDUCE],
            Kernel::Ram => &[DIVIDE],
            Kernel::Sce => &[DIVIDE, VARIANCE],
            Kernel::SceVariances | Kernel::SceSquares => &[REDUCE, DIVIDE, VARIANCE],
            Kernel::GramRows
            | Kernel::GramColumns
            | Kernel::Combine
            | Kernel::Nuslerp
            | Kernel::ModelStock => &[REDUCE, VECTORS],
            _ => &[],
        }
    }

    fn body(self) -> &'static str {
        match self {
            Kernel::Linear => LINEAR,
            Kernel::Passthrough => PASSTHROUGH,
            Kernel::Nearswap => NEARSWAP,
            Kernel::Gta => GTA,
            Kernel::SparsifyL1 => SPARSIFY_L1,
            Kernel::TopkHistogram
            | Kernel::TopkHistogramGlobal
            | Kernel::TopkCountKey
            | Kernel::TopkLocate => TOPK,
            Kernel::GramRows | Kernel::GramColumns => STATS,
            Kernel::Combine => COMBINE,
            Kernel::Nuslerp => NUSLERP,
            Kernel::ModelStock => MODEL_STOCK,
            Kernel::Ram => RAM,
            Kernel::ArceeFusion => ARCEE_FUSION,
            Kernel::DellaSortTiles | Kernel::DellaRank => DELLA,
            Kernel::Sce => SCE,
            Kernel::SceVariances | Kernel::SceSquares => SCE_STATS,
        }
    }
}

/// Numeric code of a dtype in the shaders (`DTYPE_*` in common/dtype.wgsl).
pub fn dtype_code(dtype: DType) -> u32 {
    match dtype {
        DType::F32 | DType::F64 => 0,
        DType::F16 => 1,
        DType::BF16 => 2,
    }
}

/// The full module of `kernel` writing `out` elements.
pub fn source(kernel: Kernel, out: DType) -> String {
    let mut parts = vec![DTYPE, RNG, CHUNK, SPARSIFY];
    parts.extend(kernel.preludes());
    if kernel.is_elementwise() {
        parts.push(ELEMENTWISE);
    }
    parts.push(kernel.body());
    format!(
        "const OUT_DTYPE: u32 = {}u;\n{}",
        dtype_code(out),
        parts.join("\n")
    )
}
