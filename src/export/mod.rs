//! Writers for exported tables: CSV with formula-safe cells. Pure text, no web or
//! database code, so escaping is tested on its own.

pub mod csv;
pub mod parquet;

/// Response representation of a table: JSON or CSV (from `format=` or the
/// Accept header, negotiated in `routes::common`).
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
}
