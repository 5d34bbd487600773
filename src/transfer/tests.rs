//! Whole files through [`read`]: encodings, dialects, row numbers,
//! NDJSON, limits and the real-world import cases.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use time::macros::date;

use super::csv_rows::CSV_BUFFER_BYTES;
use super::encoding::SNIFF_BYTES;
use super::*;
use crate::identity::PhoneCountry;
use crate::standard_fields::StandardField;
use crate::status::Subscription;
use crate::store::{FieldDefinition, FieldType};

fn options(format: FileFormat, key: KeyField) -> ImportOptions {
    ImportOptions::new(format, key, PhoneCountry::parse("ES").expect("valid country"), date!(2026 - 12 - 04))
}

fn csv_options() -> ImportOptions {
    options(FileFormat::Csv, KeyField::Email)
}

fn definition(name: &str, kind: FieldType, options: &[&str]) -> FieldDefinition {
    FieldDefinition {
        id: uuid::Uuid::now_v7(),
        name: name.to_owned(),
        label: name.to_owned(),
        kind,
        options: options.iter().map(|option| (*option).to_owned()).collect(),
        default: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// Reads every outcome of `file`, panicking on open and read errors.
fn outcomes(file: &[u8], options: &ImportOptions, definitions: &[FieldDefinition]) -> Vec<RowOutcome> {
    let reader = read(file, options, definitions).expect("file opens");
    reader.map(|outcome| outcome.expect("no read error")).collect()
}

fn rows(outcomes: &[RowOutcome]) -> Vec<&ImportRow> {
    outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            RowOutcome::Row(row) => Some(row),
            RowOutcome::Reject(_) => None,
        })
        .collect()
}

fn rejects(outcomes: &[RowOutcome]) -> Vec<&Reject> {
    outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            RowOutcome::Reject(reject) => Some(reject),
            RowOutcome::Row(_) => None,
        })
        .collect()
}

fn stored(row: &ImportRow, field: StandardField) -> Option<&str> {
    row.standard.iter().find(|(candidate, _)| *candidate == field).map(|(_, value)| value.stored.as_str())
}

fn custom_text<'a>(row: &'a ImportRow, definition: &FieldDefinition) -> Option<&'a str> {
    let name = definition.storage_name();
    row.custom.iter().find(|value| value.storage_name == name).and_then(|value| value.text.as_deref())
}

#[test]
fn bom_is_not_part_of_first_header() {
    let file = b"\xEF\xBB\xBFemail,cellphone,first_name\nana@example.com,600000001,Ana\n";

    let reader = read(&file[..], &csv_options(), &[]).expect("file opens");
    let report = reader.mapping_report();
    let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

    assert_eq!(report.columns[0].name, "email");
    assert_eq!(report.columns[0].mapped_by, MappedBy::Name);
    assert_eq!(report.unknown_columns().count(), 0);
    let rows = rows(&outcomes);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "ana@example.com");
    assert_eq!(stored(rows[0], StandardField::FirstName), Some("Ana"));
    assert!(!format!("{outcomes:?}").contains('\u{FEFF}'));
}

#[test]
fn bom_overrides_declared_windows_1252() {
    let file = "\u{FEFF}email,first_name\nana@example.com,José\n".as_bytes();
    let mut options = csv_options();
    options.encoding = EncodingChoice::Windows1252;

    let reader = read(file, &options, &[]).expect("file opens");
    assert_eq!(reader.encoding(), TextEncoding::Utf8);
    let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

    assert_eq!(stored(rows(&outcomes)[0], StandardField::FirstName), Some("José"));
}

#[test]
fn quoted_line_breaks_and_doubled_quotes() {
    let note = definition("note", FieldType::Text, &[]);
    let file = "email,note\n\
                ana@example.com,\"Prefers delivery\nafter 18:00\"\n\
                luis@example.com,\"Said \"\"hola\"\" twice\"\n";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), std::slice::from_ref(&note));

    let rows = rows(&outcomes);
    assert_eq!(outcomes.len(), 2);
    assert_eq!(rows.len(), 2);
    assert_eq!(custom_text(rows[0], &note), Some("Prefers delivery\nafter 18:00"));
    assert_eq!(custom_text(rows[1], &note), Some("Said \"hola\" twice"));
    assert_eq!(rows[0].row, 2);
    assert_eq!(rows[1].row, 3, "a record spanning two lines is one row");
}

#[test]
fn crlf_line_breaks_inside_cells_become_lf() {
    let note = definition("note", FieldType::Text, &[]);
    let file = "email,note\r\nana@example.com,\"Prefers delivery\r\nafter 18:00\"\r\n";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), std::slice::from_ref(&note));

    assert_eq!(custom_text(rows(&outcomes)[0], &note), Some("Prefers delivery\nafter 18:00"));
}

#[test]
fn email_key_is_trimmed_and_lowercased() {
    let file = "email\n\"  ana.garcia@example.com \"\nANA.GARCIA@Example.COM\n";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), &[]);

    let rows = rows(&outcomes);
    assert_eq!(rows[0].key, "ana.garcia@example.com");
    assert_eq!(stored(rows[0], StandardField::Email), Some("ana.garcia@example.com"));
    assert_eq!(rows[1].key, "ana.garcia@example.com");
    assert_eq!(stored(rows[1], StandardField::Email), Some("ANA.GARCIA@Example.COM"), "stored as typed");
}

#[test]
fn phone_variants_and_short_number() {
    let file = "cellphone\n600 000 001\n+34 600-000-001\n0034600000001\n34600000001\n600000001\n12\n";
    let options = options(FileFormat::Csv, KeyField::Cellphone);

    let outcomes = outcomes(file.as_bytes(), &options, &[]);

    let rows = rows(&outcomes);
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_eq!(row.key, "+34600000001", "row {}", row.row);
        assert_eq!(stored(row, StandardField::Cellphone), Some("+34600000001"));
    }
    let rejects = rejects(&outcomes);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].row, 7);
    assert_eq!(rejects[0].column.as_deref(), Some("cellphone"));
    assert!(rejects[0].reason.starts_with("invalid phone number"), "{}", rejects[0].reason);
}

#[test]
fn short_number_outside_the_key_rejects_the_row() {
    let file = "email,mobile\nana@example.com,12\n";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), &[]);

    assert_eq!(rejects(&outcomes)[0].column.as_deref(), Some("mobile"));
}

#[test]
fn latin1_declared_and_detected() {
    let file = b"email,first_name\njose@example.com,Jos\xE9\n";

    for encoding in [EncodingChoice::Iso88591, EncodingChoice::Windows1252, EncodingChoice::Auto] {
        let mut options = csv_options();
        options.encoding = encoding;

        let reader = read(&file[..], &options, &[]).expect("file opens");
        assert_eq!(reader.encoding(), TextEncoding::Windows1252, "{encoding}");
        let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

        assert_eq!(stored(rows(&outcomes)[0], StandardField::FirstName), Some("José"), "{encoding}");
    }
}

#[test]
fn windows_1252_header_is_decoded() {
    let note = definition("direccion", FieldType::Text, &[]);
    let file = b"email;Direcci\xF3n\nana@example.com;Calle Mayor 1\n";
    let mut options = csv_options();
    options.mapping.insert("Dirección".to_owned(), "direccion".to_owned());

    let reader = read(&file[..], &options, std::slice::from_ref(&note)).expect("file opens");
    let report = reader.mapping_report();
    let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

    assert_eq!(report.columns[1].name, "Dirección");
    assert_eq!(custom_text(rows(&outcomes)[0], &note), Some("Calle Mayor 1"));
}

#[test]
fn invalid_utf8_after_sniffed_prefix_is_a_reject() {
    let mut file = b"email,first_name\n".to_vec();
    let mut count = 0;
    while file.len() <= SNIFF_BYTES {
        count += 1;
        file.extend_from_slice(format!("user{count}@example.com,Ana\n").as_bytes());
    }
    file.extend_from_slice(b"late@example.com,Jos\xE9\n");
    file.extend_from_slice("after@example.com,José\n".as_bytes());

    let reader = read(&file[..], &csv_options(), &[]).expect("file opens");
    assert_eq!(reader.encoding(), TextEncoding::Utf8);
    let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

    let rejects = rejects(&outcomes);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].row, count + 2);
    assert_eq!(rejects[0].column.as_deref(), Some("first_name"));
    assert!(rejects[0].reason.starts_with("not valid UTF-8 text"), "{}", rejects[0].reason);
    let rows = rows(&outcomes);
    assert_eq!(rows.len() as u64, count + 1);
    assert_eq!(stored(rows[rows.len() - 1], StandardField::FirstName), Some("José"));
    assert!(!format!("{outcomes:?}").contains('\u{FFFD}'));
}

#[test]
fn invalid_utf8_when_declared_is_a_reject() {
    let file = b"email,first_name\nana@example.com,Jos\xE9\n";
    let mut options = csv_options();
    options.encoding = EncodingChoice::Utf8;

    let outcomes = outcomes(&file[..], &options, &[]);

    assert_eq!(rejects(&outcomes)[0].column.as_deref(), Some("first_name"));
}

#[test]
fn each_delimiter_is_detected_and_read() {
    for delimiter in Delimiter::ALL {
        let separator = char::from(delimiter.byte());
        let file =
            format!("email{separator}first_name{separator}last_name\nana@example.com{separator}Ana{separator}García\n");

        let reader = read(file.as_bytes(), &csv_options(), &[]).expect("file opens");
        assert_eq!(reader.delimiter(), Some(delimiter));
        let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

        let rows = rows(&outcomes);
        assert_eq!(rows.len(), 1, "{delimiter}");
        assert_eq!(stored(rows[0], StandardField::LastName), Some("García"), "{delimiter}");
    }
}

#[test]
fn declared_delimiter_overrides_detection() {
    let note = definition("tags", FieldType::Text, &[]);
    // One comma and one semicolon: detection would pick the comma.
    let file = "email;tags,extra\nana@example.com;a,b\n";
    let mut options = csv_options();
    options.delimiter = Some(Delimiter::Semicolon);
    options.mapping.insert("tags,extra".to_owned(), "tags".to_owned());

    let reader = read(file.as_bytes(), &options, std::slice::from_ref(&note)).expect("file opens");
    assert_eq!(reader.delimiter(), Some(Delimiter::Semicolon));
    let outcomes: Vec<RowOutcome> = reader.map(|outcome| outcome.expect("no read error")).collect();

    assert_eq!(custom_text(rows(&outcomes)[0], &note), Some("a,b"));
}

#[test]
fn each_declared_delimiter_is_used() {
    for delimiter in Delimiter::ALL {
        let separator = char::from(delimiter.byte());
        let file = format!("email{separator}first_name\nana@example.com{separator}Ana\n");
        let mut options = csv_options();
        options.delimiter = Some(delimiter);

        let outcomes = outcomes(file.as_bytes(), &options, &[]);

        assert_eq!(stored(rows(&outcomes)[0], StandardField::FirstName), Some("Ana"), "{delimiter}");
    }
}

#[test]
fn single_column_file_is_read() {
    let outcomes = outcomes(b"email\r\nana@example.com\r\nluis@example.com\r\n", &csv_options(), &[]);

    let keys: Vec<&str> = rows(&outcomes).iter().map(|row| row.key.as_str()).collect();
    assert_eq!(keys, vec!["ana@example.com", "luis@example.com"]);
}

#[test]
fn mismatched_cell_counts_are_rejects() {
    let file = "email,first_name,last_name\n\
                ana@example.com,Ana,García\n\
                luis@example.com,Luis\n\
                eva@example.com,Eva,Pérez,extra\n\
                rosa@example.com,Rosa,Gil\n";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), &[]);

    let rejects = rejects(&outcomes);
    assert_eq!(rejects.len(), 2);
    assert_eq!((rejects[0].row, rejects[0].column.as_deref()), (3, None));
    assert!(rejects[0].reason.starts_with("the row has 2 cells but the header has 3 columns"), "{}", rejects[0].reason);
    assert_eq!((rejects[1].row, rejects[1].column.as_deref()), (4, None));
    assert!(rejects[1].reason.starts_with("the row has 4 cells"), "{}", rejects[1].reason);
    assert_eq!(rows(&outcomes).len(), 2);
}

#[test]
fn row_numbers_count_empty_lines_and_blank_rows() {
    let file =
        "\nemail,first_name\r\n\r\nana@example.com,Ana\r\n , \r\n\"luis@example.com\",\"Luis\nMaría\"\r\nx,y\r\n\r\n";

    let reader = read(file.as_bytes(), &csv_options(), &[]).expect("file opens");
    let mut reader = reader;
    let outcomes: Vec<RowOutcome> = reader.by_ref().map(|outcome| outcome.expect("no read error")).collect();

    // Row 1 is empty, the header is row 2, row 3 is empty, row 5 is blank.
    let numbers: Vec<u64> = outcomes
        .iter()
        .map(|outcome| match outcome {
            RowOutcome::Row(row) => row.row,
            RowOutcome::Reject(reject) => reject.row,
        })
        .collect();
    assert_eq!(numbers, vec![4, 6, 7]);
    assert_eq!(rejects(&outcomes)[0].column.as_deref(), Some("first_name"), "a name with a line break is invalid");
    assert_eq!(reader.blank_rows(), 4);
}

#[test]
fn last_line_without_line_break_keeps_its_number() {
    let file = "email\nana@example.com\n\n\nluis@example.com";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), &[]);

    assert_eq!(rows(&outcomes).iter().map(|row| row.row).collect::<Vec<_>>(), vec![2, 5]);
}

#[test]
fn carriage_return_line_ends_are_read() {
    let file = "email,first_name\rana@example.com,Ana\r\"luis@example.com\",Luis\r";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), &[]);

    let rows = rows(&outcomes);
    assert_eq!(
        rows.iter().map(|row| (row.row, row.key.as_str())).collect::<Vec<_>>(),
        vec![(2, "ana@example.com"), (3, "luis@example.com")]
    );
    assert_eq!(stored(rows[1], StandardField::FirstName), Some("Luis"));
}

#[test]
fn header_only_file_has_no_rows() {
    let outcomes = outcomes(b"email,first_name\n", &csv_options(), &[]);
    assert!(outcomes.is_empty());
}

#[test]
fn empty_file_cannot_be_opened() {
    let error = read(&b""[..], &csv_options(), &[]).err().expect("empty");
    assert!(matches!(error, OpenError::Empty), "{error:?}");

    let error = read(&b"\n\n"[..], &options(FileFormat::Ndjson, KeyField::Email), &[]).err().expect("empty");
    assert!(matches!(error, OpenError::Empty), "{error:?}");
}

#[test]
fn utf16_file_cannot_be_opened() {
    let error = read(&b"\xFF\xFEe\0m\0"[..], &csv_options(), &[]).err().expect("UTF-16");

    assert!(matches!(error, OpenError::Utf16 { name: "UTF-16LE" }), "{error:?}");
    assert!(error.to_string().contains("save it as UTF-8"), "{error}");
}

#[test]
fn invalid_date_format_cannot_be_opened() {
    let mut options = csv_options();
    options.date_format = Some("[month]/[year]".to_owned());

    let error = read(&b"email\n"[..], &options, &[]).err().expect("invalid format");

    assert!(matches!(error, OpenError::InvalidDateFormat { .. }), "{error:?}");
}

#[test]
fn date_format_applies_to_dates() {
    let visit = definition("last_visit", FieldType::Date, &[]);
    let file = "email,date of birth,last visit\nana@example.com,28/02/1990,04/12/2026\n";
    let mut options = csv_options();
    options.date_format = Some("[day]/[month]/[year]".to_owned());

    let outcomes = outcomes(file.as_bytes(), &options, std::slice::from_ref(&visit));

    let rows = rows(&outcomes);
    assert_eq!(stored(rows[0], StandardField::DateOfBirth), Some("1990-02-28"));
    assert_eq!(custom_text(rows[0], &visit), Some("2026-12-04"));
}

#[test]
fn mapping_errors_stop_before_rows() {
    let cases = [
        (
            "email,phone,mobile\n",
            vec![],
            KeyField::Email,
            MappingError::DuplicateTarget {
                target: "cellphone".to_owned(),
                first: "phone".to_owned(),
                second: "mobile".to_owned(),
            },
        ),
        (
            "email\n",
            vec![("mobile", "cellphone")],
            KeyField::Email,
            MappingError::MissingColumn { column: "mobile".to_owned() },
        ),
        (
            "email,size\n",
            vec![("size", "shoe_size")],
            KeyField::Email,
            MappingError::UnknownTarget { column: "size".to_owned(), target: "shoe_size".to_owned() },
        ),
        (
            "email,first_name\n",
            vec![],
            KeyField::CustomerId,
            MappingError::MissingKeyColumn { key: KeyField::CustomerId },
        ),
    ];

    for (header, mapping, key, expected) in cases {
        let mut options = options(FileFormat::Csv, key);
        options.mapping = mapping.iter().map(|(column, target)| ((*column).to_owned(), (*target).to_owned())).collect();
        let file = format!("{header}ana@example.com,never read\n");

        let error = read(file.as_bytes(), &options, &[]).err().expect("mapping error");

        match error {
            OpenError::Mapping(error) => assert_eq!(error, expected, "{header:?}"),
            other => panic!("{header:?}: {other:?}"),
        }
    }
}

#[test]
fn unknown_columns_are_reported_not_dropped() {
    let file = "email,Loyalty tier,first name\nana@example.com,gold,Ana\n";

    let reader = read(file.as_bytes(), &csv_options(), &[]).expect("file opens");

    let report = reader.mapping_report();
    assert_eq!(report.unknown_columns().collect::<Vec<_>>(), vec!["Loyalty tier"]);
    assert_eq!(report.columns[2].target.as_deref(), Some("first_name"));
}

#[test]
fn custom_fields_and_statuses_from_csv() {
    let colours = definition("colours", FieldType::MultipleChoice, &["red", "green", "blue"]);
    let vip = definition("vip", FieldType::Boolean, &[]);
    let definitions = [colours.clone(), vip.clone()];
    // A pipe-delimited file must quote multiple choices.
    let file = "email|colours|vip|Newsletter|SMS status\nana@example.com|\"red|blue\"|yes|Subscribed|Not subscribed\n";

    let outcomes = outcomes(file.as_bytes(), &csv_options(), &definitions);

    let rows = rows(&outcomes);
    assert_eq!(custom_text(rows[0], &colours), Some(r#"["red","blue"]"#));
    assert_eq!(custom_text(rows[0], &vip), Some("true"));
    assert_eq!(rows[0].statuses.newsletter, Some(Subscription::Subscribed));
    assert_eq!(rows[0].statuses.sms, Some(Subscription::NotSubscribed));
}

#[test]
fn reject_reasons_never_repeat_cells() {
    let size = definition("shoe_size", FieldType::Integer, &[]);
    let colour = definition("colour", FieldType::SingleChoice, &["red"]);
    let vip = definition("vip", FieldType::Boolean, &[]);
    let definitions = [size, colour, vip];
    let cells = [
        ("email", "SECRET1"),
        ("cellphone", "SECRET2"),
        ("date_of_birth", "SECRET3"),
        ("first_name", "SECRET4\u{7}"),
        ("shoe_size", "SECRET5"),
        ("colour", "SECRET6"),
        ("vip", "SECRET7"),
        ("newsletter", "SECRET8"),
        ("email_status", "SECRET9"),
    ];

    for (column, value) in cells {
        // The email column is tested outside the key, because a bad key
        // is reported before other cells.
        let (key, key_value) =
            if column == "email" { (KeyField::CustomerId, "C-1") } else { (KeyField::Email, "ana@example.com") };
        let file = format!("{key},{column}\n{key_value},{value}\n");
        let options = options(FileFormat::Csv, key);

        let outcomes = outcomes(file.as_bytes(), &options, &definitions);

        let rejects = rejects(&outcomes);
        assert_eq!(rejects.len(), 1, "{column}");
        assert_eq!(rejects[0].column.as_deref(), Some(column));
        assert!(!rejects[0].reason.contains("SECRET"), "{column}: {}", rejects[0].reason);
    }
}

#[test]
fn customer_id_key() {
    let file = "Customer ID,email\n C-1 ,ana@example.com\n ,luis@example.com\n";
    let options = options(FileFormat::Csv, KeyField::CustomerId);

    let outcomes = outcomes(file.as_bytes(), &options, &[]);

    let rows = rows(&outcomes);
    assert_eq!(rows[0].key, "C-1");
    assert_eq!(rows[0].customer_id.as_deref(), Some("C-1"));
    let rejects = rejects(&outcomes);
    assert_eq!((rejects[0].row, rejects[0].column.as_deref()), (3, Some("Customer ID")));
}

#[test]
fn unclosed_quote_stops_at_row_limit() {
    let mut file = b"email,note\nana@example.com,fine\nluis@example.com,\"never closed\n".to_vec();
    for index in 0..1000 {
        file.extend_from_slice(format!("user{index}@example.com,more text\n").as_bytes());
    }
    let note = definition("note", FieldType::Text, &[]);
    let mut options = csv_options();
    options.max_row_bytes = 1024;

    let mut reader = read(&file[..], &options, std::slice::from_ref(&note)).expect("file opens");

    assert!(matches!(reader.next(), Some(Ok(RowOutcome::Row(_)))));
    let error = reader.next().expect("an outcome").expect_err("row too long");
    assert!(matches!(error, ReadError::RowTooLong { row: 3, max: 1024 }), "{error:?}");
    assert!(reader.next().is_none(), "reading stops after a read error");
}

#[test]
fn long_header_cannot_be_opened() {
    let file = format!("email,\"{}\n", "x".repeat(4096));
    let mut options = csv_options();
    options.max_row_bytes = 1024;

    let error = read(file.as_bytes(), &options, &[]).err().expect("header too long");

    assert!(matches!(error, OpenError::HeaderTooLong { max: 1024 }), "{error:?}");
}

#[test]
fn ndjson_rows_are_read() {
    let size = definition("shoe_size", FieldType::Integer, &[]);
    let colours = definition("colours", FieldType::MultipleChoice, &["red", "green", "blue"]);
    let definitions = [size.clone(), colours.clone()];
    let file = concat!(
        "{\"email\": \" Ana@Example.com \", \"shoe_size\": 38, \"colours\": [\"red\", \"blue\"], \"newsletter\": \"subscribed\"}\n",
        "\n",
        "{\"email\": \"luis@example.com\", \"first_name\": \"Luis\", \"shoe_size\": null}\r\n",
        "[\"not\", \"an\", \"object\"]\n",
        "{\"email\": \"broken\n",
        "{\"email\": \"eva@example.com\", \"colours\": \"green|red\", \"vip\": true}\n",
    );

    let reader =
        read(file.as_bytes(), &options(FileFormat::Ndjson, KeyField::Email), &definitions).expect("file opens");
    let mut reader = reader;
    let outcomes: Vec<RowOutcome> = reader.by_ref().map(|outcome| outcome.expect("no read error")).collect();

    let rows = rows(&outcomes);
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].row, rows[0].key.as_str()), (1, "ana@example.com"));
    assert_eq!(custom_text(rows[0], &size), Some("38"));
    assert_eq!(custom_text(rows[0], &colours), Some(r#"["red","blue"]"#));
    assert_eq!(rows[0].statuses.newsletter, Some(Subscription::Subscribed));
    assert_eq!((rows[1].row, stored(rows[1], StandardField::FirstName)), (3, Some("Luis")));
    assert_eq!(custom_text(rows[1], &size), None, "null sets nothing");
    assert_eq!(rows[2].row, 6);
    assert_eq!(custom_text(rows[2], &colours), Some(r#"["green","red"]"#));

    let rejects = rejects(&outcomes);
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].row, 4);
    assert!(rejects[0].reason.starts_with("the line is not a JSON object"), "{}", rejects[0].reason);
    assert_eq!(rejects[1].row, 5);
    assert!(rejects[1].reason.starts_with("invalid JSON"), "{}", rejects[1].reason);

    assert_eq!(reader.blank_rows(), 1);
    let report = reader.mapping_report();
    assert_eq!(report.unknown_columns().collect::<Vec<_>>(), vec!["vip"], "keys of later lines join the report");
}

#[test]
fn ndjson_first_line_must_be_an_object() {
    let error = read(&b"\n[1, 2]\n{\"email\": \"a@b.es\"}\n"[..], &options(FileFormat::Ndjson, KeyField::Email), &[])
        .err()
        .expect("not an object");

    assert!(matches!(error, OpenError::FirstLine { line: 2, .. }), "{error:?}");
}

#[test]
fn ndjson_key_column_is_required_in_first_object() {
    let file = b"{\"first_name\": \"Ana\"}\n{\"email\": \"a@b.es\"}\n";

    let error = read(&file[..], &options(FileFormat::Ndjson, KeyField::Email), &[]).err().expect("no key");

    assert!(matches!(error, OpenError::Mapping(MappingError::MissingKeyColumn { .. })), "{error:?}");
}

#[test]
fn ndjson_later_line_without_key_is_a_reject() {
    let file = b"{\"email\": \"a@b.es\"}\n{\"first_name\": \"Ana\"}\n";

    let outcomes = outcomes(&file[..], &options(FileFormat::Ndjson, KeyField::Email), &[]);

    let rejects = rejects(&outcomes);
    assert_eq!((rejects[0].row, rejects[0].column.as_deref()), (2, Some("email")));
}

#[test]
fn ndjson_long_line_is_skipped() {
    let file = format!(
        "{{\"email\": \"a@b.es\"}}\n{{\"email\": \"c@d.es\", \"note\": \"{}\"}}\n{{\"email\": \"e@f.es\"}}\n",
        "x".repeat(4096)
    );
    let mut options = options(FileFormat::Ndjson, KeyField::Email);
    options.max_row_bytes = 1024;

    let outcomes = outcomes(file.as_bytes(), &options, &[]);

    assert_eq!(rows(&outcomes).iter().map(|row| row.row).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(rejects(&outcomes)[0].reason, "the line is longer than 1024 bytes");
}

#[test]
fn ndjson_windows_1252_is_decoded() {
    let file = b"{\"email\": \"jose@example.com\", \"first_name\": \"Jos\xE9\"}\n";
    let mut options = options(FileFormat::Ndjson, KeyField::Email);
    options.encoding = EncodingChoice::Iso88591;

    let outcomes = outcomes(&file[..], &options, &[]);

    assert_eq!(stored(rows(&outcomes)[0], StandardField::FirstName), Some("José"));
}

#[test]
fn row_reader_can_move_to_a_blocking_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<RowReader<std::fs::File>>();
}

/// A CSV file of `total` contacts made while it is read, counting the bytes
/// handed out, so no test copy of the file exists in memory.
struct GeneratedCsv {
    next_row: usize,
    total: usize,
    pending: Vec<u8>,
    offset: usize,
    pulled: Arc<AtomicU64>,
}

const GENERATED_HEADER: &str = "email,first_name,cellphone\n";

fn generated_row(index: usize) -> String {
    format!("user{index}@example.com,Name {index},6{index:08}\n")
}

impl Read for GeneratedCsv {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset == self.pending.len() {
            self.pending.clear();
            self.offset = 0;
            match self.next_row {
                0 => self.pending.extend_from_slice(GENERATED_HEADER.as_bytes()),
                index if index <= self.total => self.pending.extend_from_slice(generated_row(index).as_bytes()),
                _ => return Ok(0),
            }
            self.next_row += 1;
        }

        let count = (&self.pending[self.offset..]).read(buf)?;
        self.offset += count;
        self.pulled.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }
}

#[test]
fn large_file_streams_in_bounded_memory() {
    const TOTAL: usize = 200_000;
    let pulled = Arc::new(AtomicU64::new(0));
    let file = GeneratedCsv { next_row: 0, total: TOTAL, pending: Vec::new(), offset: 0, pulled: Arc::clone(&pulled) };

    let mut reader = read(file, &csv_options(), &[]).expect("file opens");
    let mut consumed = GENERATED_HEADER.len() as u64;
    let mut baseline = None;
    let mut count = 0;

    while let Some(outcome) = reader.next() {
        let RowOutcome::Row(row) = outcome.expect("no read error") else { panic!("generated rows are valid") };
        count += 1;
        consumed += generated_row(count).len() as u64;
        assert_eq!(row.row, count as u64 + 1);

        // Read-ahead is the sniffed prefix or the CSV buffer, never more.
        let ahead = pulled.load(Ordering::Relaxed) - consumed;
        assert!(ahead <= (SNIFF_BYTES + CSV_BUFFER_BYTES) as u64, "row {count}: {ahead} bytes read ahead");

        if count % 10_000 == 0 {
            let retained = reader.retained_bytes();
            // The sniffed prefix is freed within the first 10,000 rows, and
            // later rows differ in length by a few digits at most.
            let baseline = *baseline.get_or_insert(retained);
            assert!(retained <= baseline + 16, "row {count}: {retained} bytes retained, {baseline} at row 10000");
        }
    }

    assert_eq!(count, TOTAL);
    assert!(baseline.expect("checkpoints ran") < 2 * CSV_BUFFER_BYTES, "{baseline:?}");
}

#[test]
fn ndjson_memory_stays_flat() {
    let mut file = String::new();
    for index in 0..20_000 {
        file.push_str(&format!("{{\"email\": \"user{index}@example.com\", \"first_name\": \"Name {index}\"}}\n"));
    }

    let mut reader = read(file.as_bytes(), &options(FileFormat::Ndjson, KeyField::Email), &[]).expect("file opens");
    let mut retained = Vec::new();
    let mut count = 0;
    while let Some(outcome) = reader.next() {
        assert!(matches!(outcome, Ok(RowOutcome::Row(_))));
        count += 1;
        if count % 5_000 == 0 {
            retained.push(reader.retained_bytes());
        }
    }

    assert_eq!(count, 20_000);
    assert!(retained.windows(2).all(|pair| pair[1] <= pair[0]), "{retained:?}");
}
