//! The kernel families, each planning its parameters from a tensor's recipe exactly as its CPU
//! twin does and running its passes on the runtime: element-wise plans (`plan`, `apply`), their
//! statistics (`gather`, `stat_source`, `topk`), the selection methods (DELLA, SCE,
//! arcee_fusion) and the geometric ones (`reduce`, `geometric`).

pub mod apply;
pub mod arcee_fusion;
pub mod della;
pub mod gather;
pub mod geometric;
pub mod plan;
pub mod reduce;
pub mod sce;
pub mod scratch_regions;
pub mod selection;
pub mod stat_source;
pub mod topk;
