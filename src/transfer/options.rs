//! The options of one import: file format, encoding, delimiter, key,
//! column mapping and how dates are written.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::identity::PhoneCountry;
use crate::store::IndexKind;

/// Default of [`ImportOptions::max_row_bytes`]: 4 MiB, a little more than a
/// row of 500 custom text fields (the maximum number of definitions) that
/// each hold 2,000 characters of 4 bytes.
pub const DEFAULT_MAX_ROW_BYTES: usize = 4 << 20;

/// The options of one import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub format: FileFormat,
    /// The file's character encoding; [`EncodingChoice::Auto`] detects it.
    pub encoding: EncodingChoice,
    /// The CSV delimiter, or `None` to detect it from the header line.
    /// Ignored for NDJSON.
    pub delimiter: Option<Delimiter>,
    /// The field that finds the contact each row updates.
    pub key: KeyField,
    /// Explicit mapping from a column name to a target name (a standard
    /// field, `customer_id`, a status column or a custom field name) or
    /// to `ignore`. Column names match headers trimmed, case-insensitively
    /// and with spaces and dashes read as underscores. Columns not named
    /// here are mapped by their header (see [`super::mapping`]).
    pub mapping: BTreeMap<String, String>,
    /// A `time` format description such as `[day]/[month]/[year]` that
    /// date cells may use besides ISO 8601 (see [`time::format_description`],
    /// version 2 syntax).
    pub date_format: Option<String>,
    /// The country of phone numbers written without an international prefix.
    pub phone_country: PhoneCountry,
    /// The current date: a date of birth after it is rejected.
    pub today: Date,
    /// Maximum length of one row in bytes. A longer CSV row stops the
    /// import, because it is most often a quote without its closing quote
    /// that swallows the rest of the file. A longer NDJSON line is a reject.
    pub max_row_bytes: usize,
}

impl ImportOptions {
    /// Creates options with automatic encoding and delimiter detection, no
    /// explicit mapping, ISO 8601 dates only and the default row limit.
    pub fn new(format: FileFormat, key: KeyField, phone_country: PhoneCountry, today: Date) -> ImportOptions {
        ImportOptions {
            format,
            encoding: EncodingChoice::Auto,
            delimiter: None,
            key,
            mapping: BTreeMap::new(),
            date_format: None,
            phone_country,
            today,
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
        }
    }
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Comma-separated values (or another delimiter) with a header row.
    Csv,
    /// Newline-delimited JSON: one object per line.
    Ndjson,
}

impl FileFormat {
    pub const ALL: [FileFormat; 2] = [FileFormat::Csv, FileFormat::Ndjson];

    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Ndjson => "ndjson",
        }
    }
}

/// The declared character encoding of the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncodingChoice {
    /// A UTF-8 byte order mark means UTF-8. Otherwise the first 64 KiB
    /// decide: valid UTF-8 means UTF-8, anything else Windows-1252.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "windows-1252")]
    Windows1252,
    /// Read as Windows-1252, as the WHATWG Encoding Standard and browsers
    /// do. The two differ only in bytes 0x80 to 0x9F, which are C1 control
    /// characters in ISO-8859-1, and no contact field accepts those.
    #[serde(rename = "iso-8859-1")]
    Iso88591,
}

impl EncodingChoice {
    pub const ALL: [EncodingChoice; 4] =
        [EncodingChoice::Auto, EncodingChoice::Utf8, EncodingChoice::Windows1252, EncodingChoice::Iso88591];

    pub fn as_str(self) -> &'static str {
        match self {
            EncodingChoice::Auto => "auto",
            EncodingChoice::Utf8 => "utf-8",
            EncodingChoice::Windows1252 => "windows-1252",
            EncodingChoice::Iso88591 => "iso-8859-1",
        }
    }
}

/// A CSV delimiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    Comma,
    Semicolon,
    Tab,
    Pipe,
}

impl Delimiter {
    /// Every delimiter, in the order that breaks ties in detection.
    pub const ALL: [Delimiter; 4] = [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab, Delimiter::Pipe];

    pub fn as_str(self) -> &'static str {
        match self {
            Delimiter::Comma => "comma",
            Delimiter::Semicolon => "semicolon",
            Delimiter::Tab => "tab",
            Delimiter::Pipe => "pipe",
        }
    }

    /// Returns the delimiter's byte, which is the same in every supported
    /// encoding.
    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
            Delimiter::Pipe => b'|',
        }
    }
}

/// The field that finds the contact a row updates. Its column must exist,
/// and a row without a valid value in it is a reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyField {
    /// Matched trimmed and lowercased.
    Email,
    /// Matched in E.164.
    Cellphone,
    /// The shop's own customer id, matched trimmed.
    CustomerId,
}

impl KeyField {
    pub const ALL: [KeyField; 3] = [KeyField::Email, KeyField::Cellphone, KeyField::CustomerId];

    /// Returns the target name of the key's column.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyField::Email => "email",
            KeyField::Cellphone => "cellphone",
            KeyField::CustomerId => "customer_id",
        }
    }

    /// Returns the unique index that maps key values to contacts.
    pub fn index(self) -> IndexKind {
        match self {
            KeyField::Email => IndexKind::Email,
            KeyField::Cellphone => IndexKind::Phone,
            KeyField::CustomerId => IndexKind::CustomerId,
        }
    }
}

/// Implements `Display` and `FromStr` through `as_str` and `ALL`, so
/// command-line flags and JSON use the same names.
macro_rules! named_choice {
    ($kind:ident, $what:literal) => {
        impl fmt::Display for $kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $kind {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let requested = s.trim().to_ascii_lowercase();
                $kind::ALL.into_iter().find(|choice| choice.as_str() == requested).ok_or_else(|| {
                    let names: Vec<&str> = $kind::ALL.iter().map(|choice| choice.as_str()).collect();
                    format!("unknown {}; expected one of {}", $what, names.join(", "))
                })
            }
        }
    };
}

named_choice!(FileFormat, "file format");
named_choice!(EncodingChoice, "encoding");
named_choice!(Delimiter, "delimiter");
named_choice!(KeyField, "import key");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_their_names() {
        for encoding in EncodingChoice::ALL {
            assert_eq!(encoding.as_str().parse::<EncodingChoice>(), Ok(encoding));
        }
        for delimiter in Delimiter::ALL {
            assert_eq!(delimiter.as_str().parse::<Delimiter>(), Ok(delimiter));
        }
        for key in KeyField::ALL {
            assert_eq!(key.as_str().parse::<KeyField>(), Ok(key));
        }
        for format in FileFormat::ALL {
            assert_eq!(format.as_str().parse::<FileFormat>(), Ok(format));
        }
        assert_eq!(" UTF-8 ".parse::<EncodingChoice>(), Ok(EncodingChoice::Utf8));
    }

    #[test]
    fn unknown_choice_lists_accepted_names() {
        let error = "latin-9".parse::<EncodingChoice>().expect_err("unknown");
        assert_eq!(error, "unknown encoding; expected one of auto, utf-8, windows-1252, iso-8859-1");
    }

    #[test]
    fn choices_deserialize_from_json_names() {
        let encoding: EncodingChoice = serde_json::from_str("\"iso-8859-1\"").expect("valid");
        let key: KeyField = serde_json::from_str("\"customer_id\"").expect("valid");

        assert_eq!(encoding, EncodingChoice::Iso88591);
        assert_eq!(key, KeyField::CustomerId);
    }
}
