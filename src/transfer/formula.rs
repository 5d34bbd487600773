//! Formula neutralisation of CSV cells, written by exports and undone by
//! imports.
//!
//! A spreadsheet reads a cell that starts with `=`, `+`, `-` or `@` as a
//! formula, and some do so after a leading tab or carriage return too. A
//! contact's value could then run a formula on the computer of the person
//! who opens the export (CSV injection). As requirement 1.2.10 of the OWASP
//! Application Security Verification Standard 5.0 asks, an export puts a
//! single quote before such a cell, which makes spreadsheets read it as
//! text.
//!
//! The rule is reversible. An export adds one `'` to every cell that
//! starts with any number of `'` (including none) followed by one of those
//! characters. An import removes one `'` from every cell that starts with
//! one or more `'` followed by one of those characters. So a value that
//! already starts with `'=` is written `''=` and read back as `'=`, and
//! E.164 phone numbers such as `+34600000001` come back exactly.
//!
//! Only CSV cells are neutralised. NDJSON values are never altered,
//! because no spreadsheet runs them.

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The prefix that neutralises a cell.
pub const QUOTE: char = '\'';

/// Returns whether an export puts [`QUOTE`] before `text`: whether `text`,
/// after any leading quotes, starts with a formula character.
pub fn needs_quote(text: &str) -> bool {
    text.trim_start_matches(QUOTE).starts_with(FORMULA_STARTS)
}

/// Returns `cell` without the quote that an export added, or `cell` as it
/// is when it is not a neutralised cell.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix(QUOTE) {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the cell an export writes for `value`.
    fn neutralise(value: &str) -> String {
        if needs_quote(value) {
            format!("{QUOTE}{value}")
        } else {
            value.to_owned()
        }
    }

    #[test]
    fn formula_starts_get_a_quote() {
        for value in ["=SUM(A1:A2)", "+34600000001", "-7", "@cmd", "\tx", "\rx", "'=x", "''+x"] {
            assert!(needs_quote(value), "{value:?}");
        }
        for value in ["Ana", "", "'", "''", "'x", " =x", "a=b", "€=", "{\"a\":\"=b\"}"] {
            assert!(!needs_quote(value), "{value:?}");
        }
    }

    #[test]
    fn restore_removes_one_added_quote() {
        assert_eq!(restore("'=SUM(A1:A2)"), "=SUM(A1:A2)");
        assert_eq!(restore("'+34600000001"), "+34600000001");
        assert_eq!(restore("''=x"), "'=x");
        assert_eq!(restore("'-7"), "-7");
    }

    #[test]
    fn restore_keeps_cells_without_added_quote() {
        for cell in ["'x", "'", "''", "=x", "+34600000001", "Ana", "'' =x", "' =x"] {
            assert_eq!(restore(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn every_value_round_trips() {
        let values =
            ["=1+1", "+34600000001", "-", "@", "\t", "'", "'=", "''=", "'''-x", "'x", "x'", "", "plain", "José", "''"];

        for value in values {
            let cell = neutralise(value);

            assert!(!cell.starts_with(FORMULA_STARTS), "{value:?} is written as {cell:?}");
            assert_eq!(restore(&cell), value, "{value:?} is written as {cell:?}");
        }
    }
}
