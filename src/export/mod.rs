//! Writers for exported tables: CSV with formula-safe cells. Pure text, no web or
//! database code, so escaping is tested on its own.

pub mod csv;
