//! CSV (RFC 4180) with cells that spreadsheets will not execute: a text cell
//! beginning with `=`, `+`, `-`, `@`, tab or carriage return gets a leading
//! apostrophe. Plain numbers (such as `-300.00`) are left as numbers.

/// Escapes and quotes one cell.
pub fn cell(value: &str) -> String {
    let is_number = !value.is_empty()
        && value
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && value.chars().filter(|c| *c == '.').count() <= 1
        && value.chars().skip(1).all(|c| c != '-')
        && value.chars().any(|c| c.is_ascii_digit());
    let guarded = if !is_number && value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One CSV line (with CRLF) from cells.
pub fn row<I, S>(cells: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut line = cells
        .into_iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_escaped_and_numbers_are_not() {
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+cmd"), "'+cmd");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-300.00"), "-300.00");
        assert_eq!(cell("12500.00"), "12500.00");
        assert_eq!(cell("-"), "'-");
        assert_eq!(cell("plain"), "plain");
    }

    #[test]
    fn separators_and_quotes_are_quoted() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=a,b"), "\"'=a,b\"");
        assert_eq!(row(["a", "1", "=x"]), "a,1,'=x\r\n");
    }
}
