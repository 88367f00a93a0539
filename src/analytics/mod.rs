//! Pure computations behind the numbers users read: intervals, the logistic
//! trend, the cluster bootstrap and the gap projection. No actix, no diesel, so
//! every figure can be tested exactly against an independent computation.

pub mod bootstrap;
pub mod budgets;
pub mod definitions;
pub mod disclosure;
pub mod fx_table;
pub mod intervals;
pub mod logistic;
pub mod projection;
pub mod published;
pub mod rates;
pub mod roi;
pub mod rollup;
pub mod student_t;
pub mod summary;
