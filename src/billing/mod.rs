//! Spend that arrives by itself: cloud bills in FOCUS and LLM providers'
//! cost reports, read into exact per-pilot spend by allocation rules. Pure:
//! no database, no HTTP; `ledger::spend_sources` writes what this plans.
//!
//! - `decimal`: exact bill amounts (`i128` of 10⁻¹⁸), rounded once, half-to-even;
//! - `rules`: allocation rules, matching and largest-remainder splits;
//! - `focus`: the streamed FOCUS 1.0–1.2 CSV reader (plain or gzip);
//! - `reports`: OpenAI and Anthropic cost-report JSON;
//! - `aggregate`: lines summed into entries per bill, the rest unallocated.

pub mod aggregate;
pub mod decimal;
pub mod focus;
pub mod reports;
pub mod rules;

#[cfg(test)]
mod focus_tests;

/// One problem of one row: its row (the header is row 1; row 0 is the file
/// as a whole), the column, why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BillError {
    pub row: usize,
    pub column: Option<String>,
    pub reason: String,
}

impl BillError {
    pub fn new(row: usize, column: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            row,
            column: column.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

/// Problems of a file: the first [`Errors::LISTED`] by row kept, all counted.
#[derive(Debug, Default)]
pub struct Errors {
    listed: Vec<BillError>,
    total: usize,
}

impl Errors {
    pub const LISTED: usize = 1_000;

    pub fn push(&mut self, e: BillError) {
        self.total += 1;
        if self.listed.len() < Self::LISTED {
            self.listed.push(e);
        }
    }

    pub fn total(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn into_listed(self) -> Vec<BillError> {
        self.listed
    }
}

/// Why nothing of a file may be written.
#[derive(Debug)]
pub enum Rejected {
    /// Unknown version, missing column, unreadable file: before any row.
    Unsupported { field: String, reason: String },
    /// A limit (rows, bytes).
    TooLarge(String),
    /// Bad rows.
    Rows(Errors),
}

/// Marks a read that stopped at the size limit (the reader's error).
#[derive(Debug)]
pub struct LimitReached(pub String);

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitReached {}

impl Rejected {
    /// A CSV error: a limit when the underlying reader hit one, the file
    /// unreadable (`what`) when `what` is given, else a bad row.
    fn io_or(e: csv::Error, what: &str) -> Rejected {
        if let csv::ErrorKind::Io(io) = e.kind() {
            if let Some(limit) = io.get_ref().and_then(|inner| inner.downcast_ref::<LimitReached>()) {
                return Rejected::TooLarge(limit.0.clone());
            }
            return Rejected::Unsupported {
                field: "body".into(),
                reason: format!("the file could not be read: {io}"),
            };
        }
        if !what.is_empty() {
            return Rejected::Unsupported {
                field: "body".into(),
                reason: what.into(),
            };
        }
        Rejected::Rows(Errors::default())
    }
}

/// A reader that stops with [`LimitReached`] after `limit` bytes.
pub struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Limited<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a file of exactly `limit` bytes from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(LimitReached(format!(
                    "the file is larger than {} bytes (uncompressed)",
                    self.limit
                )))),
            };
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}
