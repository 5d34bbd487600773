//! Character encodings: choosing the file's encoding and decoding cells.
//!
//! Every supported encoding is a superset of ASCII, so the CSV and NDJSON
//! parsers split rows and cells on the raw bytes, and each cell is
//! decoded on its own afterwards. A cell that is not valid in the file's
//! encoding is reported, never replaced by U+FFFD, so one bad row costs
//! that row and not the silent corruption of its text.

use std::borrow::Cow;
use std::fmt;

use encoding_rs::Encoding;

use super::options::EncodingChoice;

/// Number of leading bytes that automatic detection inspects.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The encoding a file is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Windows1252,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }

    /// Decodes `bytes`, or returns `None` when they are not valid in this
    /// encoding. Windows-1252 maps every byte, so only UTF-8 can fail.
    pub fn decode(self, bytes: &[u8]) -> Option<Cow<'_, str>> {
        self.encoding().decode_without_bom_handling_and_without_replacement(bytes)
    }
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of encoding detection on a file's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    pub encoding: TextEncoding,
    /// Length of the byte order mark to skip.
    pub bom_len: usize,
}

/// The file starts with a UTF-16 byte order mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf16 {
    /// `UTF-16LE` or `UTF-16BE`.
    pub name: &'static str,
}

/// Chooses the encoding of a file that starts with `prefix`, at most
/// [`SNIFF_BYTES`] long, or the whole file when it is shorter.
///
/// A byte order mark decides whatever was declared, as in the WHATWG
/// Encoding Standard's decode algorithm, so a UTF-8 BOM never ends up in
/// the first header. A UTF-16 BOM is an error, because the parsers need an
/// ASCII-compatible encoding.
pub fn detect(prefix: &[u8], choice: EncodingChoice) -> Result<Detected, Utf16> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(prefix) {
        if encoding == encoding_rs::UTF_8 {
            return Ok(Detected { encoding: TextEncoding::Utf8, bom_len });
        }
        return Err(Utf16 { name: encoding.name() });
    }

    let encoding = match choice {
        EncodingChoice::Utf8 => TextEncoding::Utf8,
        EncodingChoice::Windows1252 | EncodingChoice::Iso88591 => TextEncoding::Windows1252,
        EncodingChoice::Auto if is_utf8_prefix(prefix) => TextEncoding::Utf8,
        EncodingChoice::Auto => TextEncoding::Windows1252,
    };
    Ok(Detected { encoding, bom_len: 0 })
}

/// Returns whether `prefix` is valid UTF-8, allowing a character that the
/// end of the prefix cuts in two.
fn is_utf8_prefix(prefix: &[u8]) -> bool {
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none() && prefix.len() == SNIFF_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_wins_over_declared_encoding() {
        let file = b"\xEF\xBB\xBFemail\n";

        let detected = detect(file, EncodingChoice::Windows1252).expect("supported");

        assert_eq!(detected, Detected { encoding: TextEncoding::Utf8, bom_len: 3 });
    }

    #[test]
    fn utf16_bom_is_an_error() {
        assert_eq!(detect(b"\xFF\xFEe\0", EncodingChoice::Auto), Err(Utf16 { name: "UTF-16LE" }));
        assert_eq!(detect(b"\xFE\xFF\0e", EncodingChoice::Auto), Err(Utf16 { name: "UTF-16BE" }));
    }

    #[test]
    fn auto_reads_valid_prefix_as_utf8() {
        let detected = detect("email\nJosé\n".as_bytes(), EncodingChoice::Auto).expect("supported");
        assert_eq!(detected, Detected { encoding: TextEncoding::Utf8, bom_len: 0 });
    }

    #[test]
    fn auto_reads_latin1_bytes_as_windows_1252() {
        let detected = detect(b"name\nJos\xE9\n", EncodingChoice::Auto).expect("supported");
        assert_eq!(detected.encoding, TextEncoding::Windows1252);
    }

    #[test]
    fn auto_accepts_character_cut_by_prefix_end() {
        let mut prefix = vec![b'a'; SNIFF_BYTES - 1];
        prefix.push(0xC3); // first byte of "é"

        assert_eq!(detect(&prefix, EncodingChoice::Auto).expect("supported").encoding, TextEncoding::Utf8);
    }

    #[test]
    fn auto_rejects_truncated_last_character() {
        // A file shorter than the prefix ends there, so nothing completes it.
        assert_eq!(detect(b"Jos\xC3", EncodingChoice::Auto).expect("supported").encoding, TextEncoding::Windows1252);
    }

    #[test]
    fn declared_encodings_are_used_as_given() {
        let utf8 = detect(b"Jos\xE9", EncodingChoice::Utf8).expect("supported");
        let latin1 = detect("José".as_bytes(), EncodingChoice::Iso88591).expect("supported");

        assert_eq!(utf8.encoding, TextEncoding::Utf8);
        assert_eq!(latin1.encoding, TextEncoding::Windows1252);
    }

    #[test]
    fn decode_rejects_invalid_utf8_without_replacement() {
        assert_eq!(TextEncoding::Utf8.decode("José".as_bytes()).as_deref(), Some("José"));
        assert_eq!(TextEncoding::Utf8.decode(b"Jos\xE9"), None);
    }

    #[test]
    fn decode_windows_1252_maps_every_byte() {
        assert_eq!(TextEncoding::Windows1252.decode(b"Jos\xE9").as_deref(), Some("José"));
        assert_eq!(TextEncoding::Windows1252.decode(b"\x80 5").as_deref(), Some("€ 5"));
    }
}
