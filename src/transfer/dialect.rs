//! CSV dialect: detecting the delimiter from the header line, and the
//! byte that ends records.
//!
//! Spreadsheets write commas, or semicolons where the comma is the decimal
//! separator, and "text" exports use tabs. The header line is the only
//! line whose cells are known to be plain names, so it alone decides.

use super::options::Delimiter;

/// Returns the delimiter that occurs most often outside quotes in the
/// first non-empty line of `prefix`. Ties go to the earlier delimiter in
/// [`Delimiter::ALL`], and a line without any (a single-column file) gives
/// [`Delimiter::Comma`]. A quoted header cell may span lines.
pub fn detect_delimiter(prefix: &[u8]) -> Delimiter {
    let start = prefix.iter().position(|byte| !matches!(byte, b'\r' | b'\n')).unwrap_or(prefix.len());
    let mut counts = [0usize; Delimiter::ALL.len()];
    let mut quoted = false;

    for &byte in &prefix[start..] {
        match byte {
            // A doubled quote inside a quoted cell toggles twice, which
            // leaves the state as it was.
            b'"' => quoted = !quoted,
            b'\r' | b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(index) = Delimiter::ALL.iter().position(|delimiter| delimiter.byte() == byte) {
                    counts[index] += 1;
                }
            }
            _ => {}
        }
    }

    let mut best = Delimiter::Comma;
    let mut best_count = 0;
    for (delimiter, count) in Delimiter::ALL.into_iter().zip(counts) {
        if count > best_count {
            best = delimiter;
            best_count = count;
        }
    }
    best
}

/// Returns the byte that ends CSV records: line feed, which also ends
/// CR LF lines, or carriage return for files whose `prefix` has carriage
/// returns and no line feed (old Mac exports).
pub fn detect_terminator(prefix: &[u8]) -> u8 {
    if !prefix.contains(&b'\n') && prefix.contains(&b'\r') {
        return b'\r';
    }
    b'\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminator_is_line_feed_unless_only_carriage_returns() {
        assert_eq!(detect_terminator(b"email\r\na@b.es\r\n"), b'\n');
        assert_eq!(detect_terminator(b"email\na@b.es"), b'\n');
        assert_eq!(detect_terminator(b"email"), b'\n');
        assert_eq!(detect_terminator(b"email\ra@b.es\r"), b'\r');
    }

    #[test]
    fn each_delimiter_is_detected() {
        let cases = [
            ("email,first_name,last_name\na,b,c\n", Delimiter::Comma),
            ("email;first_name;last_name\na;b;c\n", Delimiter::Semicolon),
            ("email\tfirst_name\tlast_name\na\tb\tc\n", Delimiter::Tab),
            ("email|first_name|last_name\na|b|c\n", Delimiter::Pipe),
        ];
        for (file, expected) in cases {
            assert_eq!(detect_delimiter(file.as_bytes()), expected, "{file:?}");
        }
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count() {
        let file = "\"email, work\";\"name, \"\"nick\"\"\";city\n";
        assert_eq!(detect_delimiter(file.as_bytes()), Delimiter::Semicolon);
    }

    #[test]
    fn only_the_header_line_counts() {
        let file = "email;name\n\"a,b,c,d,e\";x\n";
        assert_eq!(detect_delimiter(file.as_bytes()), Delimiter::Semicolon);
    }

    #[test]
    fn quoted_header_may_span_lines() {
        let file = "\"first\nname\";email;city\n";
        assert_eq!(detect_delimiter(file.as_bytes()), Delimiter::Semicolon);
    }

    #[test]
    fn single_column_falls_back_to_comma() {
        assert_eq!(detect_delimiter(b"email\r\nana@example.com\r\n"), Delimiter::Comma);
        assert_eq!(detect_delimiter(b""), Delimiter::Comma);
    }

    #[test]
    fn leading_blank_lines_are_skipped() {
        assert_eq!(detect_delimiter(b"\r\n\nemail|name\n"), Delimiter::Pipe);
    }

    #[test]
    fn tie_goes_to_earlier_delimiter() {
        assert_eq!(detect_delimiter(b"a;b,c\n"), Delimiter::Comma);
    }
}
