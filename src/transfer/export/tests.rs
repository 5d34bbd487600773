//! Exports written and read back with [`crate::transfer::read`]: round
//! trips in every format, delimiter and byte order mark setting, formula
//! neutralisation, column selection and bounded memory.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::rc::Rc;

use serde_json::{json, Value};
use time::macros::date;

use super::*;
use crate::custom;
use crate::identity::PhoneCountry;
use crate::standard_fields::StandardField;
use crate::status::{Consent, Delivery, Hold, StatusChanges, Subscription, SubscriptionRecord};
use crate::store::{Activity, ActivityKind, ContactId, ContactRecord, FieldDefinition, FieldType};
use crate::transfer::{read, Delimiter, FileFormat, ImportOptions, ImportRow, KeyField, RowOutcome};

fn spain() -> PhoneCountry {
    PhoneCountry::parse("ES").expect("valid country")
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

fn definitions() -> Vec<FieldDefinition> {
    vec![
        definition("note", FieldType::Text, &[]),
        definition("interests", FieldType::MultipleChoice, &["running", "yoga", "cycling"]),
        definition("first_visit", FieldType::Date, &[]),
        definition("last_order", FieldType::DateTime, &[]),
        definition("shoe_size", FieldType::Integer, &[]),
        definition("balance", FieldType::Decimal, &[]),
        definition("vip", FieldType::Boolean, &[]),
        definition("work_phone", FieldType::Phone, &[]),
        definition("tier", FieldType::SingleChoice, &["=gold", "silver"]),
    ]
}

fn find<'a>(definitions: &'a [FieldDefinition], name: &str) -> &'a FieldDefinition {
    definitions.iter().find(|definition| definition.name == name).expect("defined field")
}

/// A contact record as the store keeps it, built through the same
/// validators that every writer uses.
struct ContactBuilder<'a> {
    record: ContactRecord,
    definitions: &'a [FieldDefinition],
}

impl<'a> ContactBuilder<'a> {
    fn new(definitions: &'a [FieldDefinition]) -> ContactBuilder<'a> {
        let record = ContactRecord {
            id: Some(ContactId::new()),
            created_at: 1_764_844_200_123,
            updated_at: 1_764_930_600_000,
            ..ContactRecord::default()
        };
        ContactBuilder { record, definitions }
    }

    fn standard(mut self, field: StandardField, raw: &str) -> Self {
        let value = field.validate(raw.trim(), spain(), date!(2026 - 12 - 04)).expect("valid standard value");
        self.record.fields.insert(field.name().to_owned(), value.stored);
        self
    }

    fn custom(mut self, name: &str, value: Value) -> Self {
        let definition = find(self.definitions, name);
        let text = custom::validate_for(definition, &value, spain()).expect("valid custom value").expect("a value");
        self.record.fields.insert(definition.storage_name(), text);
        self
    }

    fn status(mut self, entry: &str, value: String) -> Self {
        self.record.statuses.insert(entry.to_owned(), value);
        self
    }

    fn build(self) -> ContactRecord {
        self.record
    }
}

fn subscription(status: Subscription) -> String {
    let record = SubscriptionRecord { status, consent: Consent::admin("staff", 1_764_844_200_000) };
    serde_json::to_string(&record).expect("encodes")
}

fn bounced(address: &str) -> String {
    let delivery = Delivery { address: address.to_owned(), bounced: true, temporary_bounces: 3, last_bounce: None };
    serde_json::to_string(&delivery).expect("encodes")
}

/// Contacts with tricky values, and the status changes that importing
/// each one's export must give.
fn tricky_contacts(definitions: &[FieldDefinition]) -> Vec<(ContactRecord, StatusChanges)> {
    let ana = ContactBuilder::new(definitions)
        .standard(StandardField::Email, "  Ana.Garcia@Example.COM ")
        .standard(StandardField::FirstName, "José María")
        .standard(StandardField::LastName, "Núñez-Ibáñez")
        .standard(StandardField::DateOfBirth, "1990-02-28")
        .standard(StandardField::Cellphone, "+34 600-000-001")
        .custom("note", json!("Prefers delivery\nafter 18:00"))
        .custom("interests", json!(["running", "cycling"]))
        .custom("first_visit", json!("2026-01-31"))
        .custom("last_order", json!("2026-12-04T10:30:00+01:00"))
        .custom("shoe_size", json!(-7))
        .custom("balance", json!(12.5))
        .custom("vip", json!(true))
        .custom("work_phone", json!("600 000 002"))
        .custom("tier", json!("=gold"))
        .status("email", "paused".to_owned())
        .status("newsletter", subscription(Subscription::Subscribed))
        .status("cellphone", "blocked".to_owned())
        .status("sms", subscription(Subscription::Unsubscribed))
        .build();
    let ana_statuses = StatusChanges {
        email: Some(Some(Hold::Paused)),
        newsletter: Some(Subscription::Subscribed),
        cellphone: Some(Some(Hold::Blocked)),
        sms: Some(Subscription::Unsubscribed),
    };

    let luis = ContactBuilder::new(definitions)
        .standard(StandardField::Email, "luis@example.com")
        .standard(StandardField::FirstName, "=HYPERLINK(\"http://example.com\",\"x\")")
        .standard(StandardField::LastName, "+Plus")
        .custom("note", json!("Said \"hola\" twice"))
        .custom("interests", json!(["yoga"]))
        .custom("balance", json!("1e21"))
        .custom("vip", json!(false))
        .status("email_delivery", bounced("luis@example.com"))
        .build();
    let luis_statuses = StatusChanges {
        email: None,
        newsletter: Some(Subscription::NotSubscribed),
        cellphone: Some(None),
        sms: Some(Subscription::NotSubscribed),
    };

    let mut eva = ContactBuilder::new(definitions)
        .standard(StandardField::Email, "eva+promo@example.com")
        .standard(StandardField::LastName, "@eva")
        .standard(StandardField::Cellphone, "0034 600 000 003")
        .custom("note", json!("'=already quoted, -1+1;\tAisle 3|top"))
        .custom("shoe_size", json!("9223372036854775807"))
        .custom("balance", json!(-0.25))
        .status("email_delivery", bounced("eva.old@example.com"))
        .status("newsletter", subscription(Subscription::Unsubscribed))
        .status("sms", subscription(Subscription::Subscribed))
        .build();
    eva.fields.insert(CUSTOMER_ID_FIELD.to_owned(), "C-42".to_owned());
    let eva_statuses = StatusChanges {
        email: Some(None),
        newsletter: Some(Subscription::Unsubscribed),
        cellphone: Some(None),
        sms: Some(Subscription::Subscribed),
    };

    vec![(ana, ana_statuses), (luis, luis_statuses), (eva, eva_statuses)]
}

fn export_options(format: FileFormat, delimiter: Delimiter, bom: bool) -> ExportOptions {
    ExportOptions { format, delimiter, bom, columns: None }
}

fn write_contacts(options: &ExportOptions, definitions: &[FieldDefinition], records: &[&ContactRecord]) -> Vec<u8> {
    let mut writer = ContactWriter::new(Vec::new(), options, definitions).expect("valid options");
    for record in records {
        writer.write(record).expect("written");
    }
    writer.finish().expect("flushed")
}

fn import_options(format: FileFormat) -> ImportOptions {
    ImportOptions::new(format, KeyField::Email, spain(), date!(2026 - 12 - 04))
}

/// Reads `file` back and returns its rows, failing on any reject.
fn read_rows(file: &[u8], format: FileFormat, definitions: &[FieldDefinition]) -> Vec<ImportRow> {
    let reader = read(file, &import_options(format), definitions).expect("export opens as an import");
    reader
        .map(|outcome| match outcome.expect("no read error") {
            RowOutcome::Row(row) => row,
            RowOutcome::Reject(reject) => panic!("rejected: {reject:?}"),
        })
        .collect()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

/// Asserts that `row` carries every value of `record` exactly.
fn assert_same_values(row: &ImportRow, record: &ContactRecord, definitions: &[FieldDefinition], context: &str) {
    for field in StandardField::ALL {
        let imported = row.standard.iter().find(|(candidate, _)| *candidate == field).map(|(_, value)| &value.stored);
        assert_eq!(imported, record.fields.get(field.name()), "{context}: {}", field.name());
    }

    assert_eq!(row.customer_id.as_ref(), record.fields.get(CUSTOMER_ID_FIELD), "{context}: customer_id");

    for definition in definitions {
        let name = definition.storage_name();
        let imported = row.custom.iter().find(|value| value.storage_name == name).and_then(|value| value.text.as_ref());
        assert_eq!(imported, record.fields.get(&name), "{context}: {}", definition.name);
    }
    assert_eq!(row.custom.len(), definitions.iter().filter(|d| record.fields.contains_key(&d.storage_name())).count());
}

#[test]
fn csv_round_trip_with_every_delimiter_and_bom() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let records: Vec<&ContactRecord> = contacts.iter().map(|(record, _)| record).collect();

    for delimiter in Delimiter::ALL {
        for bom in [false, true] {
            let context = format!("{delimiter} bom={bom}");
            let file = write_contacts(&export_options(FileFormat::Csv, delimiter, bom), &definitions, &records);

            assert_eq!(file.starts_with(b"\xEF\xBB\xBF"), bom, "{context}");
            let reader = read(&file[..], &import_options(FileFormat::Csv), &definitions).expect("opens");
            assert_eq!(reader.delimiter(), Some(delimiter), "{context}: detected from the header");
            let rows = read_rows(&file, FileFormat::Csv, &definitions);

            assert_eq!(rows.len(), contacts.len(), "{context}");
            for (row, (record, statuses)) in rows.iter().zip(&contacts) {
                assert_same_values(row, record, &definitions, &context);
                assert_eq!(&row.statuses, statuses, "{context}");
            }
        }
    }
}

#[test]
fn ndjson_round_trip() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let records: Vec<&ContactRecord> = contacts.iter().map(|(record, _)| record).collect();

    let file = write_contacts(&ExportOptions::new(FileFormat::Ndjson), &definitions, &records);
    let rows = read_rows(&file, FileFormat::Ndjson, &definitions);

    assert_eq!(rows.len(), contacts.len());
    for (row, (record, statuses)) in rows.iter().zip(&contacts) {
        assert_same_values(row, record, &definitions, "ndjson");
        assert_eq!(&row.statuses, statuses);
    }
}

#[test]
fn reimport_keys_and_read_only_columns() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let records: Vec<&ContactRecord> = contacts.iter().map(|(record, _)| record).collect();

    for format in FileFormat::ALL {
        let file = write_contacts(&ExportOptions::new(format), &definitions, &records);
        let mut reader = read(&file[..], &import_options(format), &definitions).expect("opens");
        let keys: Vec<String> = reader
            .by_ref()
            .map(|outcome| match outcome.expect("no read error") {
                RowOutcome::Row(row) => row.key,
                RowOutcome::Reject(reject) => panic!("rejected: {reject:?}"),
            })
            .collect();

        assert_eq!(keys, vec!["ana.garcia@example.com", "luis@example.com", "eva+promo@example.com"], "{format}");
        let report = reader.mapping_report();
        let mut unknown: Vec<&str> = report.unknown_columns().collect();
        unknown.sort_unstable();
        assert_eq!(unknown, vec!["created_at", "id", "updated_at"], "{format}");
    }
}

#[test]
fn ndjson_line_has_every_column_typed() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let ana = &contacts[0].0;
    let id = ana.id.expect("an id");

    let file = write_contacts(&ExportOptions::new(FileFormat::Ndjson), &definitions, &[ana]);
    let line: Value = serde_json::from_slice(&file).expect("one JSON object");

    let expected = json!({
        "id": id.to_string(),
        "email": "Ana.Garcia@Example.COM",
        "first_name": "José María",
        "last_name": "Núñez-Ibáñez",
        "date_of_birth": "1990-02-28",
        "cellphone": "+34600000001",
        "customer_id": null,
        "email_status": "paused",
        "newsletter_status": "subscribed",
        "cellphone_status": "blocked",
        "sms_status": "unsubscribed",
        "note": "Prefers delivery\nafter 18:00",
        "interests": ["running", "cycling"],
        "first_visit": "2026-01-31",
        "last_order": "2026-12-04T09:30:00Z",
        "shoe_size": -7,
        "balance": 12.5,
        "vip": true,
        "work_phone": "+34600000002",
        "tier": "=gold",
        "created_at": "2025-12-04T10:30:00.123Z",
        "updated_at": "2025-12-05T10:30:00Z",
    });
    assert_eq!(line, expected);
    let positions: Vec<usize> = ContactColumn::defaults(&definitions)
        .iter()
        .map(|column| text(&file).find(&format!("\"{}\":", column.name())).expect("every column is a member"))
        .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "members follow the column order: {positions:?}");
    assert!(file.ends_with(b"}\n"));
    assert_eq!(file.iter().filter(|byte| **byte == b'\n').count(), 1, "the note's line break is escaped");
}

#[test]
fn csv_cells_are_neutralised_and_quoted() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let mut options = ExportOptions::new(FileFormat::Csv);
    options.columns = Some(
        ["email", "first_name", "last_name", "cellphone", "shoe_size", "note", "tier", "email_status"]
            .map(str::to_owned)
            .to_vec(),
    );
    let records: Vec<&ContactRecord> = contacts.iter().map(|(record, _)| record).collect();

    let file = write_contacts(&options, &definitions, &records);

    let expected = concat!(
        "email,first_name,last_name,cellphone,shoe_size,note,tier,email_status\r\n",
        "Ana.Garcia@Example.COM,José María,Núñez-Ibáñez,'+34600000001,'-7,\"Prefers delivery\nafter 18:00\",'=gold,paused\r\n",
        "luis@example.com,\"'=HYPERLINK(\"\"http://example.com\"\",\"\"x\"\")\",'+Plus,,,\"Said \"\"hola\"\" twice\",,bounced\r\n",
        "eva+promo@example.com,,'@eva,'+34600000003,9223372036854775807,\"''=already quoted, -1+1;\tAisle 3|top\",,active\r\n",
    );
    assert_eq!(text(&file), expected);
}

#[test]
fn ndjson_values_are_never_neutralised() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let mut options = ExportOptions::new(FileFormat::Ndjson);
    options.columns = Some(["first_name", "cellphone", "note"].map(str::to_owned).to_vec());

    let file = write_contacts(&options, &definitions, &[&contacts[1].0, &contacts[2].0]);

    let expected = concat!(
        "{\"first_name\":\"=HYPERLINK(\\\"http://example.com\\\",\\\"x\\\")\",\"cellphone\":null,",
        "\"note\":\"Said \\\"hola\\\" twice\"}\n",
        "{\"first_name\":null,\"cellphone\":\"+34600000003\",\"note\":\"'=already quoted, -1+1;\\tAisle 3|top\"}\n",
    );
    assert_eq!(text(&file), expected);
}

#[test]
fn ndjson_ignores_bom() {
    let mut options = ExportOptions::new(FileFormat::Ndjson);
    options.bom = true;
    let record = ContactBuilder::new(&[]).standard(StandardField::Email, "a@example.com").build();

    let file = write_contacts(&options, &[], &[&record]);

    assert!(file.starts_with(b"{\"id\":"), "{}", text(&file));
}

#[test]
fn header_only_export_imports_zero_rows() {
    let definitions = definitions();

    for delimiter in Delimiter::ALL {
        for bom in [false, true] {
            let file = write_contacts(&export_options(FileFormat::Csv, delimiter, bom), &definitions, &[]);

            let header = text(&file).trim_start_matches('\u{FEFF}');
            assert!(header.starts_with("id"), "{header:?}");
            assert_eq!(header.matches("\r\n").count(), 1, "{header:?}");
            let reader = read(&file[..], &import_options(FileFormat::Csv), &definitions).expect("opens");
            assert_eq!(reader.count(), 0, "{delimiter} bom={bom}");
        }
    }
}

#[test]
fn selected_columns_only() {
    let definitions = definitions();
    let contacts = tricky_contacts(&definitions);
    let mut options = ExportOptions::new(FileFormat::Csv);
    options.delimiter = Delimiter::Semicolon;
    options.columns = Some(["Newsletter Status", "interests", " Email "].map(str::to_owned).to_vec());

    let file = write_contacts(&options, &definitions, &[&contacts[0].0]);

    assert_eq!(
        text(&file),
        "newsletter_status;interests;email\r\nsubscribed;running|cycling;Ana.Garcia@Example.COM\r\n"
    );
    let rows = read_rows(&file, FileFormat::Csv, &definitions);
    assert_eq!(rows[0].statuses.newsletter, Some(Subscription::Subscribed));
    assert_eq!(rows[0].statuses.email, None, "no email_status column");
    assert_eq!(rows[0].custom.len(), 1);
}

#[test]
fn unknown_column_fails_before_writing() {
    let mut options = ExportOptions::new(FileFormat::Csv);
    options.columns = Some(vec!["email".to_owned(), "nickname".to_owned()]);
    let mut output = Vec::new();

    let error = ContactWriter::new(&mut output, &options, &definitions()).err().expect("unknown column");

    assert!(
        matches!(&error, ExportError::Columns(ColumnError::Unknown { column, .. }) if column == "nickname"),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("unknown column \"nickname\""), "{error}");
    assert!(output.is_empty());
}

#[test]
fn undecodable_statuses_skip_the_contact() {
    let good = ContactBuilder::new(&[]).standard(StandardField::Email, "a@example.com").build();
    let broken = ContactBuilder::new(&[])
        .standard(StandardField::Email, "b@example.com")
        .status("newsletter", "not JSON".to_owned())
        .build();
    let mut writer = ContactWriter::new(Vec::new(), &ExportOptions::new(FileFormat::Csv), &[]).expect("valid");

    writer.write(&good).expect("written");
    let error = writer.write(&broken).expect_err("undecodable");
    writer.write(&good).expect("the writer goes on");

    assert!(matches!(error, ExportError::Statuses { contact, .. } if contact == broken.id), "{error:?}");
    assert!(error.to_string().contains(&broken.id.expect("an id").to_string()), "{error}");
    assert_eq!(writer.rows_written(), 2);
    let file = writer.finish().expect("flushed");
    assert!(!text(&file).contains("b@example.com"));
    assert_eq!(text(&file).matches("a@example.com").count(), 2);
}

#[test]
fn unselected_statuses_are_not_decoded() {
    let broken = ContactBuilder::new(&[])
        .standard(StandardField::Email, "b@example.com")
        .status("newsletter", "not JSON".to_owned())
        .build();
    let mut options = ExportOptions::new(FileFormat::Csv);
    options.columns = Some(vec!["email".to_owned()]);

    let file = write_contacts(&options, &[], &[&broken]);

    assert_eq!(text(&file), "email\r\nb@example.com\r\n");
}

#[test]
fn activities_to_csv_and_ndjson() {
    let contact = ContactId::new();
    let activity = Activity {
        at: 1_764_844_200_123,
        kind: ActivityKind::ProductVisit,
        url: "/product/sku-1?ref=mail".to_owned(),
        referrer: Some("=cmd|' /C calc'!A0".to_owned()),
        properties: BTreeMap::from([
            ("product_id".to_owned(), "sku-1".to_owned()),
            ("term".to_owned(), "\"red\", shoes".to_owned()),
        ]),
    };
    let bare = Activity {
        at: 0,
        kind: ActivityKind::PageVisit,
        url: "/".to_owned(),
        referrer: None,
        properties: BTreeMap::new(),
    };

    let mut csv = ActivityWriter::new(Vec::new(), &ExportOptions::new(FileFormat::Csv)).expect("valid");
    csv.write(contact, &activity).expect("written");
    csv.write(contact, &bare).expect("written");
    let csv = csv.finish().expect("flushed");
    let mut ndjson = ActivityWriter::new(Vec::new(), &ExportOptions::new(FileFormat::Ndjson)).expect("valid");
    ndjson.write(contact, &activity).expect("written");
    ndjson.write(contact, &bare).expect("written");
    let ndjson = ndjson.finish().expect("flushed");

    let expected_csv = format!(
        "contact_id,at,type,url,referrer,properties\r\n\
         {contact},2025-12-04T10:30:00.123Z,product_visit,/product/sku-1?ref=mail,'=cmd|' /C calc'!A0,\
         \"{{\"\"product_id\"\":\"\"sku-1\"\",\"\"term\"\":\"\"\\\"\"red\\\"\", shoes\"\"}}\"\r\n\
         {contact},1970-01-01T00:00:00Z,page_visit,/,,{{}}\r\n"
    );
    assert_eq!(text(&csv), expected_csv);
    let lines: Vec<Value> =
        text(&ndjson).lines().map(|line| serde_json::from_str(line).expect("a JSON object")).collect();
    assert_eq!(
        lines,
        vec![
            json!({
                "contact_id": contact.to_string(),
                "at": "2025-12-04T10:30:00.123Z",
                "type": "product_visit",
                "url": "/product/sku-1?ref=mail",
                "referrer": "=cmd|' /C calc'!A0",
                "properties": {"product_id": "sku-1", "term": "\"red\", shoes"},
            }),
            json!({
                "contact_id": contact.to_string(),
                "at": "1970-01-01T00:00:00Z",
                "type": "page_visit",
                "url": "/",
                "referrer": null,
                "properties": {},
            }),
        ]
    );
}

#[test]
fn activity_csv_properties_parse_as_json() {
    let activity = Activity {
        at: 1,
        kind: ActivityKind::Search,
        url: "/search?q=a,b".to_owned(),
        referrer: None,
        properties: BTreeMap::from([("term".to_owned(), "a,b\nc".to_owned())]),
    };
    let mut options = ExportOptions::new(FileFormat::Csv);
    options.columns = Some(vec!["properties".to_owned(), "url".to_owned()]);
    let mut writer = ActivityWriter::new(Vec::new(), &options).expect("valid");
    writer.write(ContactId::new(), &activity).expect("written");
    let file = writer.finish().expect("flushed");

    let mut reader = csv::ReaderBuilder::new().from_reader(&file[..]);
    let record = reader.records().next().expect("one row").expect("valid CSV");

    assert_eq!(&record[1], "/search?q=a,b");
    let properties: BTreeMap<String, String> = serde_json::from_str(&record[0]).expect("JSON text");
    assert_eq!(properties, activity.properties);
}

/// A writer that counts the bytes it is given and drops them. The count
/// is shared, so a test can read it while the export owns the writer.
#[derive(Clone, Default)]
struct CountingSink {
    bytes: Rc<Cell<u64>>,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.set(self.bytes.get() + buf.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn large_export_streams_in_bounded_memory() {
    let definitions = definitions();
    let longest = tricky_contacts(&definitions).swap_remove(0).0;

    for format in FileFormat::ALL {
        let mut writer = ContactWriter::new(io::sink(), &ExportOptions::new(format), &definitions).expect("valid");
        writer.write(&longest).expect("written");
        let mut baseline = None;
        let mut record = ContactBuilder::new(&definitions)
            .custom("interests", json!(["yoga"]))
            .status("newsletter", subscription(Subscription::Subscribed))
            .build();

        for index in 0..200_000u32 {
            record.fields.insert("email".to_owned(), format!("contact{index:06}@example.com"));
            record.fields.insert("first_name".to_owned(), format!("Name {index:06}"));
            writer.write(&record).expect("written");

            if index % 10_000 == 0 {
                let retained = writer.retained_bytes();
                let baseline = *baseline.get_or_insert(retained);
                assert_eq!(retained, baseline, "{format} row {index}: {retained} bytes retained, {baseline} at row 0");
            }
        }

        let baseline = baseline.expect("measured");
        assert_eq!(writer.rows_written(), 200_001, "{format}");
        assert!(baseline < 4 * OUTPUT_BUFFER_BYTES, "{format}: {baseline} bytes retained");
        writer.finish().expect("flushed");
    }
}

#[test]
fn output_streams_while_writing() {
    for format in FileFormat::ALL {
        let sink = CountingSink::default();
        let mut writer = ContactWriter::new(sink.clone(), &ExportOptions::new(format), &[]).expect("valid");
        let record = ContactBuilder::new(&[]).standard(StandardField::Email, "a@example.com").build();
        let mut counts = Vec::new();

        for row in 1..=2_000 {
            writer.write(&record).expect("written");
            if row % 500 == 0 {
                counts.push(sink.bytes.get());
            }
        }

        assert!(counts.windows(2).all(|pair| pair[0] < pair[1]), "{format}: {counts:?}");
        let written = sink.bytes.get();
        let total = writer.finish().expect("flushed").bytes.get();
        assert!(total - written <= OUTPUT_BUFFER_BYTES as u64, "{format}: {written} of {total} bytes before finish");
    }
}
