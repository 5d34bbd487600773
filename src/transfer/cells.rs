//! Cell values: from the text or JSON of one cell to the checked value that
//! the writer stores.
//!
//! Every value goes through the validators that the admin API and the
//! plugins use ([`StandardField::validate`], [`custom::validate_for`],
//! [`StatusChanges::from_json`]), so an import accepts what they accept.
//! Before that, a cell is trimmed and converted to the JSON value those
//! validators take, with a few spreadsheet habits accepted:
//!
//! - An empty cell, JSON `null` or an empty list means no value in this
//!   row. It never removes a stored value.
//! - Line breaks written as CR LF inside a cell become LF.
//! - A CSV cell that starts with `'` and then, after any further `'`, with
//!   `=`, `+`, `-`, `@`, tab or carriage return loses its first `'`. An
//!   export adds that quote so that spreadsheets don't run the cell as a
//!   formula (see [`super::formula`]). NDJSON values are read as they are.
//! - Dates are `YYYY-MM-DD` or, when [`DateFormat`] is given, that format.
//!   Date-times are ISO 8601 with an offset, stored as RFC 3339 in UTC.
//! - Multiple choices are separated by `|` (or a JSON array of strings).
//! - Booleans are `true`, `false`, `yes`, `no`, `1` or `0`, in any case.
//! - Status values are compared like column names, so `Not subscribed`
//!   is `not_subscribed`. `bounced` in the email status column, which
//!   exports write, is recorded as a hard bounce of the contact's email.
//!
//! Rejection reasons name what is expected and never repeat the cell.
//!
//! NOTE: an option that contains `|` can't be imported into a
//! multiple-choice field from CSV, because `|` always separates items.

use std::borrow::Cow;

use serde_json::Value;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::format_description::OwnedFormatItem;
use time::macros::{date, datetime, format_description};
use time::{Date, OffsetDateTime, UtcOffset};

use super::formula;
use super::mapping::{normalise_name, StatusColumn, Target};
use crate::custom::{self, StoredValue, ValueError};
use crate::identity::{normalise_customer_id, PhoneCountry};
use crate::standard_fields::{FieldError, FieldValue, StandardField};
use crate::status::{ChannelStatus, StatusChanges};
use crate::store::{FieldDefinition, FieldType};

const CHANNEL_VALUES: &str = "active, blocked, paused";
const SUBSCRIPTION_VALUES: &str = "subscribed, unsubscribed, not_subscribed";
const BOOLEAN_VALUES: &str = "true, false, yes, no, 1 or 0";

/// One cell as the file gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// An NDJSON key absent from the line.
    Missing,
    /// A decoded CSV cell, not yet trimmed.
    Text(&'a str),
    /// An NDJSON value.
    Json(&'a Value),
}

impl Cell<'_> {
    /// Returns whether the cell contains no value.
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Missing | Cell::Json(Value::Null) => true,
            Cell::Text(text) => text.trim().is_empty(),
            Cell::Json(Value::String(text)) => text.trim().is_empty(),
            Cell::Json(Value::Array(items)) => items.is_empty(),
            Cell::Json(_) => false,
        }
    }
}

/// A checked cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckedCell {
    Standard(StandardField, FieldValue),
    CustomerId(String),
    /// One member of the statuses; the others are `None`.
    Status(StatusChanges),
    /// `bounced` in the email status column.
    EmailBounced,
    Custom(StoredValue),
}

/// A date format besides ISO 8601, given as a `time` format description.
#[derive(Clone, Debug)]
pub struct DateFormat {
    description: String,
    items: OwnedFormatItem,
}

impl DateFormat {
    /// Parses a format description (version 2 syntax) and checks that it
    /// can read back a date, or a date-time with an offset, that it wrote.
    pub fn parse(description: &str) -> Result<DateFormat, String> {
        let items = time::format_description::parse_owned::<2>(description).map_err(|error| error.to_string())?;

        let sample_date = date!(2001 - 02 - 03);
        let reads_dates = sample_date
            .format(&items)
            .is_ok_and(|text| Date::parse(&text, &items).is_ok_and(|parsed| parsed == sample_date));
        let sample_time = datetime!(2001-02-03 04:05:00 +01:00);
        let reads_date_times = sample_time
            .format(&items)
            .is_ok_and(|text| OffsetDateTime::parse(&text, &items).is_ok_and(|parsed| parsed == sample_time));
        if !reads_dates && !reads_date_times {
            return Err(
                "the format must contain a day, a month and a four-digit year, such as [day]/[month]/[year]".to_owned()
            );
        }
        Ok(DateFormat { description: description.to_owned(), items })
    }

    pub fn description(&self) -> &str {
        &self.description
    }
}

/// The settings that cell checks depend on.
#[derive(Clone, Debug)]
pub struct CellRules {
    pub country: PhoneCountry,
    /// A date of birth after this date is rejected.
    pub today: Date,
    pub date_format: Option<DateFormat>,
}

/// Checks one cell for `target`. Returns `None` for an empty cell, and a
/// reason for the shop's staff when the value is invalid.
pub fn check_cell(target: &Target, cell: Cell<'_>, rules: &CellRules) -> Result<Option<CheckedCell>, String> {
    match target {
        Target::Standard(field) => check_standard(*field, cell, rules),
        Target::CustomerId => {
            let Some(text) = cell_text(cell)? else {
                return Ok(None);
            };
            let id = normalise_customer_id(&text).map_err(|error| error.to_string())?;
            Ok(Some(CheckedCell::CustomerId(id.to_owned())))
        }
        Target::Status(column) => {
            let Some(text) = cell_text(cell)? else {
                return Ok(None);
            };
            check_status(*column, &text)
        }
        Target::Custom(definition) => check_custom(definition, cell, rules),
    }
}

fn check_standard(field: StandardField, cell: Cell<'_>, rules: &CellRules) -> Result<Option<CheckedCell>, String> {
    let Some(text) = cell_text(cell)? else {
        return Ok(None);
    };
    let text = if field == StandardField::DateOfBirth { rules.iso_date(text) } else { text };

    match field.validate(&text, rules.country, rules.today) {
        Ok(value) => Ok(Some(CheckedCell::Standard(field, value))),
        Err(FieldError::InvalidDate) => Err(rules.invalid_date_reason()),
        Err(error) => Err(error.to_string()),
    }
}

/// Checks a status value through the admin API's parser.
fn check_status(column: StatusColumn, text: &str) -> Result<Option<CheckedCell>, String> {
    let value = normalise_name(text);
    if column == StatusColumn::Email && value == ChannelStatus::Bounced.as_str() {
        return Ok(Some(CheckedCell::EmailBounced));
    }

    let body = serde_json::json!({ column.member(): value });
    // The parser's message repeats the value, so the reason is built here.
    StatusChanges::from_json(&body).map(|changes| Some(CheckedCell::Status(changes))).map_err(|_| {
        let accepted = match column {
            StatusColumn::Email | StatusColumn::Cellphone => CHANNEL_VALUES,
            StatusColumn::Newsletter | StatusColumn::Sms => SUBSCRIPTION_VALUES,
        };
        format!("unknown {} status; expected one of {accepted}", column.member())
    })
}

fn check_custom(
    definition: &FieldDefinition,
    cell: Cell<'_>,
    rules: &CellRules,
) -> Result<Option<CheckedCell>, String> {
    let value = match definition.kind {
        FieldType::MultipleChoice => choices(cell)?,
        FieldType::Boolean => boolean(cell)?,
        FieldType::Integer | FieldType::Decimal => match cell {
            Cell::Json(Value::Number(number)) => Some(Value::Number(number.clone())),
            _ => cell_text(cell)?.map(|text| Value::String(text.into_owned())),
        },
        FieldType::Date => cell_text(cell)?.map(|text| Value::String(rules.iso_date(text).into_owned())),
        FieldType::DateTime => cell_text(cell)?.map(|text| Value::String(rules.rfc3339_date_time(text).into_owned())),
        FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::SingleChoice => {
            cell_text(cell)?.map(|text| Value::String(text.into_owned()))
        }
    };
    let Some(value) = value else {
        return Ok(None);
    };

    match custom::validate_for(definition, &value, rules.country) {
        Ok(Some(text)) => {
            Ok(Some(CheckedCell::Custom(StoredValue { storage_name: definition.storage_name(), text: Some(text) })))
        }
        Ok(None) => Ok(None),
        Err(ValueError::InvalidDate) => Err(rules.invalid_date_reason()),
        Err(ValueError::InvalidDateTime) => Err(rules.invalid_date_time_reason()),
        Err(error) => Err(error.to_string()),
    }
}

/// Returns the trimmed text of a cell, `None` when it is empty. A CSV
/// cell also loses the quote that neutralises a formula. JSON numbers and
/// booleans give their JSON text.
fn cell_text(cell: Cell<'_>) -> Result<Option<Cow<'_, str>>, String> {
    let text = match cell {
        Cell::Missing | Cell::Json(Value::Null) => return Ok(None),
        Cell::Text(text) => formula::restore(text.trim()),
        Cell::Json(Value::String(text)) => text.trim(),
        Cell::Json(Value::Number(number)) => return Ok(Some(Cow::Owned(number.to_string()))),
        Cell::Json(Value::Bool(flag)) => return Ok(Some(Cow::Owned(flag.to_string()))),
        Cell::Json(Value::Array(items)) if items.is_empty() => return Ok(None),
        Cell::Json(Value::Array(_)) => {
            return Err("a list of values is accepted only for multiple-choice fields".to_owned())
        }
        Cell::Json(Value::Object(_)) => {
            return Err("expected a string, number or boolean, not a JSON object".to_owned())
        }
    };

    if text.is_empty() {
        return Ok(None);
    }
    if text.contains("\r\n") {
        return Ok(Some(Cow::Owned(text.replace("\r\n", "\n"))));
    }
    Ok(Some(Cow::Borrowed(text)))
}

/// Converts a multiple-choice cell to the JSON array the validator takes.
fn choices(cell: Cell<'_>) -> Result<Option<Value>, String> {
    let items: Vec<Value> = match cell {
        Cell::Json(Value::Array(items)) => items
            .iter()
            .filter(|item| item.as_str().is_none_or(|text| !text.trim().is_empty()))
            .map(|item| match item {
                Value::String(text) => Value::String(text.trim().to_owned()),
                other => other.clone(),
            })
            .collect(),
        _ => {
            let Some(text) = cell_text(cell)? else {
                return Ok(None);
            };
            text.split('|')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect()
        }
    };

    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Array(items)))
}

fn boolean(cell: Cell<'_>) -> Result<Option<Value>, String> {
    let Some(text) = cell_text(cell)? else {
        return Ok(None);
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Some(Value::Bool(true))),
        "false" | "no" | "0" => Ok(Some(Value::Bool(false))),
        _ => Err(format!("invalid boolean; expected {BOOLEAN_VALUES}")),
    }
}

impl CellRules {
    /// Rewrites a date in the configured format as `YYYY-MM-DD`. Other
    /// text is returned as it is, for the validator to check as ISO 8601.
    fn iso_date<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let Some(format) = &self.date_format else {
            return text;
        };
        match Date::parse(&text, &format.items) {
            Ok(date) => date.format(format_description!("[year]-[month]-[day]")).map_or(text, Cow::Owned),
            Err(_) => text,
        }
    }

    /// Rewrites an ISO 8601 date-time, or one in the configured format, as
    /// RFC 3339. Other text is returned as it is, for the validator.
    fn rfc3339_date_time<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        if OffsetDateTime::parse(&text, &Rfc3339).is_ok() {
            return text;
        }

        let parsed = self
            .date_format
            .as_ref()
            .and_then(|format| OffsetDateTime::parse(&text, &format.items).ok())
            .or_else(|| OffsetDateTime::parse(&text, &Iso8601::DEFAULT).ok());
        match parsed.and_then(|moment| moment.to_offset(UtcOffset::UTC).format(&Rfc3339).ok()) {
            Some(formatted) => Cow::Owned(formatted),
            None => text,
        }
    }

    fn invalid_date_reason(&self) -> String {
        match &self.date_format {
            Some(format) => {
                format!("invalid date; expected a real calendar date as YYYY-MM-DD or {}", format.description)
            }
            None => FieldError::InvalidDate.to_string(),
        }
    }

    fn invalid_date_time_reason(&self) -> String {
        let expected = "expected ISO 8601 with an offset, such as 2026-12-04T10:30:00+01:00";
        match &self.date_format {
            Some(format) => format!("invalid date-time; {expected}, or {}", format.description),
            None => format!("invalid date-time; {expected}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::status::{Hold, Subscription};

    fn rules(date_format: Option<&str>) -> CellRules {
        CellRules {
            country: PhoneCountry::parse("ES").expect("valid country"),
            today: date!(2026 - 12 - 04),
            date_format: date_format.map(|format| DateFormat::parse(format).expect("valid format")),
        }
    }

    fn definition(kind: FieldType, options: &[&str]) -> FieldDefinition {
        FieldDefinition {
            id: uuid::Uuid::now_v7(),
            name: "field".to_owned(),
            label: "Field".to_owned(),
            kind,
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            default: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn standard(field: StandardField, text: &str) -> Result<Option<CheckedCell>, String> {
        check_cell(&Target::Standard(field), Cell::Text(text), &rules(None))
    }

    fn stored(field: StandardField, text: &str) -> String {
        match standard(field, text) {
            Ok(Some(CheckedCell::Standard(_, value))) => value.stored,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    fn custom_text(definition: &FieldDefinition, cell: Cell<'_>, rules: &CellRules) -> Result<Option<String>, String> {
        match check_cell(&Target::Custom(definition.clone()), cell, rules)? {
            Some(CheckedCell::Custom(value)) => Ok(value.text),
            None => Ok(None),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn status(column: StatusColumn, text: &str) -> Result<Option<StatusChanges>, String> {
        match check_cell(&Target::Status(column), Cell::Text(text), &rules(None))? {
            Some(CheckedCell::Status(changes)) => Ok(Some(changes)),
            None => Ok(None),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_cells_have_no_value() {
        let cells = [
            Cell::Missing,
            Cell::Text("   "),
            Cell::Json(&Value::Null),
            Cell::Json(&json!("")),
            Cell::Json(&json!([])),
        ];

        for cell in cells {
            assert!(cell.is_empty(), "{cell:?}");
            let checked = check_cell(&Target::Standard(StandardField::Email), cell, &rules(None));
            assert_eq!(checked, Ok(None), "{cell:?}");
        }
    }

    #[test]
    fn email_is_trimmed_and_keyed() {
        let checked = standard(StandardField::Email, "  ana.garcia@example.com ").expect("valid");

        let Some(CheckedCell::Standard(_, value)) = checked else { panic!("{checked:?}") };
        assert_eq!(value.stored, "ana.garcia@example.com");
        assert_eq!(value.index_key.as_deref(), Some("ana.garcia@example.com"));
    }

    #[test]
    fn phone_variants_become_e164() {
        for variant in ["600 000 001", "+34 600-000-001", "0034600000001", "34600000001", "600000001"] {
            assert_eq!(stored(StandardField::Cellphone, variant), "+34600000001", "{variant:?}");
        }
        assert_eq!(
            standard(StandardField::Cellphone, "12"),
            Err(FieldError::InvalidPhone.to_string()),
            "a short number is rejected"
        );
    }

    #[test]
    fn dates_accept_iso_and_configured_format() {
        let european = rules(Some("[day]/[month]/[year]"));
        let dob = Target::Standard(StandardField::DateOfBirth);

        assert_eq!(stored(StandardField::DateOfBirth, "1990-02-28"), "1990-02-28");
        let converted = check_cell(&dob, Cell::Text("28/02/1990"), &european).expect("valid");
        let iso_still = check_cell(&dob, Cell::Text("1990-02-28"), &european).expect("valid");

        assert!(
            matches!(converted, Some(CheckedCell::Standard(_, ref value)) if value.stored == "1990-02-28"),
            "{converted:?}"
        );
        assert_eq!(converted, iso_still);
    }

    #[test]
    fn invalid_dates_name_expected_forms() {
        let european = rules(Some("[day]/[month]/[year]"));
        let dob = Target::Standard(StandardField::DateOfBirth);

        assert_eq!(standard(StandardField::DateOfBirth, "28/02/1990"), Err(FieldError::InvalidDate.to_string()));
        assert_eq!(
            check_cell(&dob, Cell::Text("30/02/1990"), &european),
            Err("invalid date; expected a real calendar date as YYYY-MM-DD or [day]/[month]/[year]".to_owned())
        );
        assert_eq!(
            check_cell(&dob, Cell::Text("01/01/2999"), &european),
            Err(FieldError::FutureDate.to_string()),
            "the format does not skip the future check"
        );
    }

    #[test]
    fn custom_dates_and_date_times_are_canonical() {
        let date_field = definition(FieldType::Date, &[]);
        let time_field = definition(FieldType::DateTime, &[]);
        let iso = rules(None);
        let european = rules(Some("[day]/[month]/[year]"));
        let with_time = rules(Some("[day]/[month]/[year] [hour]:[minute] [offset_hour sign:mandatory]"));

        assert_eq!(custom_text(&date_field, Cell::Text("2026-01-31"), &iso), Ok(Some("2026-01-31".to_owned())));
        assert_eq!(custom_text(&date_field, Cell::Text("31/01/2026"), &european), Ok(Some("2026-01-31".to_owned())));
        assert_eq!(
            custom_text(&time_field, Cell::Text("2026-12-04T10:30:00+01:00"), &iso),
            Ok(Some("2026-12-04T09:30:00Z".to_owned()))
        );
        assert_eq!(
            custom_text(&time_field, Cell::Text("20261204T103000+0100"), &iso),
            Ok(Some("2026-12-04T09:30:00Z".to_owned())),
            "ISO 8601 basic format"
        );
        assert_eq!(
            custom_text(&time_field, Cell::Text("04/12/2026 10:30 +01"), &with_time),
            Ok(Some("2026-12-04T09:30:00Z".to_owned()))
        );
        let no_offset = custom_text(&time_field, Cell::Text("2026-12-04 10:30"), &iso);
        assert_eq!(
            no_offset,
            Err("invalid date-time; expected ISO 8601 with an offset, such as 2026-12-04T10:30:00+01:00".to_owned())
        );
    }

    #[test]
    fn date_format_must_read_a_full_date() {
        assert!(DateFormat::parse("[day]/[month]/[year]").is_ok());
        assert!(DateFormat::parse("[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]").is_ok());

        for invalid in ["[month]/[year]", "[day]/[month]/[year repr:last_two]", "[hour]:[minute]", "[day"] {
            assert!(DateFormat::parse(invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn multiple_choices_split_on_pipe() {
        let colours = definition(FieldType::MultipleChoice, &["red", "green", "blue"]);
        let iso = rules(None);

        assert_eq!(custom_text(&colours, Cell::Text(" red | blue "), &iso), Ok(Some(r#"["red","blue"]"#.to_owned())));
        assert_eq!(custom_text(&colours, Cell::Text("green||"), &iso), Ok(Some(r#"["green"]"#.to_owned())));
        assert_eq!(
            custom_text(&colours, Cell::Json(&json!(["blue", " red"])), &iso),
            Ok(Some(r#"["blue","red"]"#.to_owned()))
        );
        assert_eq!(custom_text(&colours, Cell::Text(" | "), &iso), Ok(None));
        assert_eq!(
            custom_text(&colours, Cell::Text("red|pink"), &iso),
            Err(ValueError::ItemNotAnOption { index: 1 }.to_string())
        );
        assert_eq!(
            custom_text(&colours, Cell::Json(&json!(["red", 3])), &iso),
            Err(ValueError::ItemNotString { index: 1 }.to_string())
        );
    }

    #[test]
    fn booleans_accept_spreadsheet_words() {
        let flag = definition(FieldType::Boolean, &[]);
        let iso = rules(None);

        for (text, expected) in
            [("TRUE", "true"), ("yes", "true"), ("1", "true"), ("False", "false"), ("NO", "false"), ("0", "false")]
        {
            assert_eq!(custom_text(&flag, Cell::Text(text), &iso), Ok(Some(expected.to_owned())), "{text:?}");
        }
        assert_eq!(custom_text(&flag, Cell::Json(&json!(true)), &iso), Ok(Some("true".to_owned())));
        assert_eq!(custom_text(&flag, Cell::Json(&json!(0)), &iso), Ok(Some("false".to_owned())));
        assert_eq!(
            custom_text(&flag, Cell::Text("maybe"), &iso),
            Err("invalid boolean; expected true, false, yes, no, 1 or 0".to_owned())
        );
    }

    #[test]
    fn numbers_accept_text_and_json() {
        let size = definition(FieldType::Integer, &[]);
        let price = definition(FieldType::Decimal, &[]);
        let iso = rules(None);

        assert_eq!(custom_text(&size, Cell::Text(" 42 "), &iso), Ok(Some("42".to_owned())));
        assert_eq!(custom_text(&size, Cell::Json(&json!(42)), &iso), Ok(Some("42".to_owned())));
        assert_eq!(custom_text(&price, Cell::Json(&json!(12.50)), &iso), Ok(Some("12.5".to_owned())));
        assert_eq!(custom_text(&size, Cell::Text("4.5"), &iso), Err(ValueError::InvalidInteger.to_string()));
    }

    #[test]
    fn text_keeps_line_breaks_as_lf() {
        let note = definition(FieldType::Text, &[]);
        let iso = rules(None);

        let checked = custom_text(&note, Cell::Text("Prefers delivery\r\nafter 18:00"), &iso);

        assert_eq!(checked, Ok(Some("Prefers delivery\nafter 18:00".to_owned())));
        assert_eq!(custom_text(&note, Cell::Text("a\u{7}b"), &iso), Err(ValueError::ControlCharacter.to_string()));
    }

    #[test]
    fn csv_cells_lose_the_formula_quote() {
        let note = definition(FieldType::Text, &[]);
        let size = definition(FieldType::Integer, &[]);
        let choices = definition(FieldType::MultipleChoice, &["-a", "b"]);
        let iso = rules(None);

        assert_eq!(custom_text(&note, Cell::Text(" '=SUM(A1:A2) "), &iso), Ok(Some("=SUM(A1:A2)".to_owned())));
        assert_eq!(custom_text(&note, Cell::Text("''@x"), &iso), Ok(Some("'@x".to_owned())));
        assert_eq!(custom_text(&size, Cell::Text("'-7"), &iso), Ok(Some("-7".to_owned())));
        assert_eq!(custom_text(&choices, Cell::Text("'-a|b"), &iso), Ok(Some(r#"["-a","b"]"#.to_owned())));
        assert_eq!(stored(StandardField::Cellphone, "'+34600000001"), "+34600000001");
    }

    #[test]
    fn quotes_without_formula_are_kept() {
        let note = definition(FieldType::Text, &[]);
        let iso = rules(None);

        assert_eq!(custom_text(&note, Cell::Text("'quoted'"), &iso), Ok(Some("'quoted'".to_owned())));
        assert_eq!(
            custom_text(&note, Cell::Json(&json!("'=x")), &iso),
            Ok(Some("'=x".to_owned())),
            "NDJSON values are never altered"
        );
    }

    #[test]
    fn json_shapes_outside_multiple_choice() {
        let note = definition(FieldType::Text, &[]);
        let iso = rules(None);

        assert_eq!(custom_text(&note, Cell::Json(&json!(42)), &iso), Ok(Some("42".to_owned())));
        assert!(custom_text(&note, Cell::Json(&json!(["a"])), &iso).is_err());
        assert!(custom_text(&note, Cell::Json(&json!({"a": 1})), &iso).is_err());
        assert_eq!(
            check_cell(&Target::CustomerId, Cell::Json(&json!(1042)), &iso),
            Ok(Some(CheckedCell::CustomerId("1042".to_owned())))
        );
    }

    #[test]
    fn customer_id_is_trimmed_and_checked() {
        let iso = rules(None);

        assert_eq!(
            check_cell(&Target::CustomerId, Cell::Text(" C-42 "), &iso),
            Ok(Some(CheckedCell::CustomerId("C-42".to_owned())))
        );
        assert!(check_cell(&Target::CustomerId, Cell::Text("a\u{0}b"), &iso).is_err());
    }

    #[test]
    fn statuses_use_admin_api_values() {
        let paused = status(StatusColumn::Email, "Paused").expect("valid").expect("a change");
        let never = status(StatusColumn::Newsletter, " Not subscribed ").expect("valid").expect("a change");
        let active = status(StatusColumn::Cellphone, "active").expect("valid").expect("a change");
        let sms = status(StatusColumn::Sms, "subscribed").expect("valid").expect("a change");

        assert_eq!(paused.email, Some(Some(Hold::Paused)));
        assert_eq!(never.newsletter, Some(Subscription::NotSubscribed));
        assert_eq!(active.cellphone, Some(None));
        assert_eq!(sms.sms, Some(Subscription::Subscribed));
    }

    #[test]
    fn bounced_email_status_is_a_bounce() {
        let checked = check_cell(&Target::Status(StatusColumn::Email), Cell::Text("Bounced"), &rules(None));
        assert_eq!(checked, Ok(Some(CheckedCell::EmailBounced)));
        assert!(status(StatusColumn::Cellphone, "bounced").is_err());
    }

    #[test]
    fn unknown_status_lists_values_without_the_cell() {
        let error = status(StatusColumn::Newsletter, "maybe-later").expect_err("invalid");

        assert_eq!(error, "unknown newsletter status; expected one of subscribed, unsubscribed, not_subscribed");
        assert!(!error.contains("maybe"));
    }

    #[test]
    fn listed_status_values_are_accepted() {
        for column in StatusColumn::ALL {
            let accepted = match column {
                StatusColumn::Email | StatusColumn::Cellphone => CHANNEL_VALUES,
                StatusColumn::Newsletter | StatusColumn::Sms => SUBSCRIPTION_VALUES,
            };
            for value in accepted.split(", ") {
                assert!(matches!(status(column, value), Ok(Some(_))), "{} {value}", column.name());
            }
        }
    }
}
