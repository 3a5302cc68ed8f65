//! The one file that names the WGSL sources: each kernel is its own file in `shaders/`, composed
//! after the shared preludes it needs and the constants of its variant (output dtype, slots).

use crate::dtype::DType;

pub const DTYPE: &str = include_str!("../../../shaders/common/dtype.wgsl");
pub const RNG: &str = include_str!("../../../shaders/common/rng.wgsl");
pub const CHUNK: &str = include_str!("../../../shaders/common/chunk.wgsl");
pub const ELEMENTWISE: &str = include_str!("../../../shaders/common/elementwise.wgsl");
pub const DIRECT: &str = include_str!("../../../shaders/common/direct.wgsl");
pub const SPARSIFY: &str = include_str!("../../../shaders/common/sparsify.wgsl");
pub const REDUCE: &str = include_str!("../../../shaders/common/reduce.wgsl");
pub const VECTORS: &str = include_str!("../../../shaders/common/vectors.wgsl");
pub const DIVIDE: &str = include_str!("../../../shaders/common/divide.wgsl");
pub const VARIANCE: &str = include_str!("../../../shaders/common/variance.wgsl");
const LINEAR: &str = include_str!("../../../shaders/linear.wgsl");
const PASSTHROUGH: &str = include_str!("../../../shaders/passthrough.wgsl");
const NEARSWAP: &str = include_str!("../../../shaders/nearswap.wgsl");
const GTA: &str = include_str!("../../../shaders/gta.wgsl");
const SPARSIFY_L1: &str = include_str!("../../../shaders/sparsify_l1.wgsl");
const TOPK: &str = include_str!("../../../shaders/topk.wgsl");
const STATS: &str = include_str!("../../../shaders/stats.wgsl");
const COMBINE: &str = include_str!("../../../shaders/combine.wgsl");
const NUSLERP: &str = include_str!("../../../shaders/nuslerp.wgsl");
const MODEL_STOCK: &str = include_str!("../../../shaders/model_stock.wgsl");
const RAM: &str = include_str!("../../../shaders/ram.wgsl");
const ARCEE_FUSION: &str = include_str!("../../../shaders/arcee_fusion.wgsl");
const DELLA: &str = include_str!("../../../shaders/della.wgsl");
const SCE: &str = include_str!("../../../shaders/sce.wgsl");
const SCE_STATS: &str = include_str!("../../../shaders/sce_stats.wgsl");
/// The copy kernels of the benchmark's bandwidth ceiling (`gpu/ceiling.rs`), no merge kernel.
pub const COPY: &str = include_str!("../../../shaders/copy.wgsl");

/// Every `.wgsl` file under `shaders/`, by its path there.
pub const FILES: &[(&str, &str)] = &[
    ("common/dtype.wgsl", DTYPE),
    ("common/rng.wgsl", RNG),
    ("common/chunk.wgsl", CHUNK),
    ("common/elementwise.wgsl", ELEMENTWISE),
    ("common/direct.wgsl", DIRECT),
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
    ("copy.wgsl", COPY),
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

    /// Elements one workgroup covers (`ELEMENTS_PER_WORKGROUP` in the kernel's source). Grids
    /// of the Gram, DELLA sort and topk locate kernels follow segments, tiles and blocks: their
    /// callers size them.
    pub fn elements_per_workgroup(self) -> usize {
        match self {
            _ if self.is_elementwise() => 2048,
            // 512 · PAIRS_PER_INVOCATION of topk.wgsl.
            Kernel::TopkHistogram | Kernel::TopkHistogramGlobal | Kernel::SparsifyL1 => 4096,
            Kernel::TopkCountKey | Kernel::SceSquares => 512,
            _ => 256,
        }
    }

    /// Workgroups covering a chunk of `len` elements.
    pub fn workgroups(self, len: usize) -> u32 {
        len.div_ceil(self.elements_per_workgroup()) as u32
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

/// One compiled form of a kernel: its output dtype and, as WGSL constants, the slots it reads
/// (their count and dtypes) and where its inputs start, so slot loops have constant bounds
/// (drivers unroll them and issue every slot's loads together) and dtype branches fold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    pub kernel: Kernel,
    /// Output dtype; F32 for statistics kernels, which write no elements.
    pub out: DType,
    /// Dtype code (`dtype_code`) of each kernel slot, base first when there is one.
    pub slot_dtypes: Vec<u32>,
    /// Non-base inputs (`Params::count`) and the slot of the first one.
    pub inputs: u32,
    pub first_input: u32,
    /// Sparsifier kind of each slot (`Slot::sparsify`; 0 dense), so the kernel's sparsifier
    /// branches fold: a CPU adapter runs untaken branches under masks, and every driver
    /// carries their registers.
    pub slot_sparsify: Vec<u32>,
}

impl Variant {
    pub fn new(
        kernel: Kernel,
        out: DType,
        slot_dtypes: Vec<u32>,
        inputs: u32,
        first_input: u32,
    ) -> Self {
        let out = if kernel.is_elementwise() {
            out
        } else {
            DType::F32
        };
        let slot_sparsify = vec![0; slot_dtypes.len()];
        Variant {
            kernel,
            out,
            slot_dtypes,
            inputs,
            first_input,
            slot_sparsify,
        }
    }

    /// This variant for slots sparsified as `kinds` (one per slot).
    pub fn with_sparsify(mut self, kinds: Vec<u32>) -> Self {
        assert_eq!(kinds.len(), self.slot_dtypes.len(), "one kind per slot");
        self.slot_sparsify = kinds;
        self
    }

    /// The full module: the variant's constants, the preludes, then the kernel.
    pub fn source(&self) -> String {
        let kernel = self.kernel;
        let mut parts = vec![DTYPE, RNG, CHUNK, SPARSIFY];
        parts.extend(kernel.preludes());
        parts.push(if kernel.is_elementwise() {
            ELEMENTWISE
        } else {
            DIRECT
        });
        parts.push(kernel.body());
        format!("{}{}", self.constants(), parts.join("\n"))
    }

    /// The WGSL constants of this variant, one line each.
    pub fn constants(&self) -> String {
        // An empty slot list still declares a one-element array (WGSL has no empty arrays).
        let list = |codes: &[u32]| -> Vec<String> {
            match codes {
                [] => vec!["0u".into()],
                codes => codes.iter().map(|c| format!("{c}u")).collect(),
            }
        };
        let (dtypes, sparsify) = (list(&self.slot_dtypes), list(&self.slot_sparsify));
        format!(
            "const OUT_DTYPE: u32 = {}u;\nconst SLOTS: u32 = {}u;\n\
             const SLOT_DTYPES = array<u32, SLOTS>({});\n\
             const SLOT_SPARSIFY = array<u32, SLOTS>({});\n\
             const INPUTS: u32 = {}u;\nconst FIRST_INPUT: u32 = {}u;\n\
             const ELEMENTS_PER_WORKGROUP: u32 = {}u;\n",
            dtype_code(self.out),
            dtypes.len(),
            dtypes.join(", "),
            sparsify.join(", "),
            self.inputs,
            self.first_input,
            self.kernel.elements_per_workgroup(),
        )
    }
}
