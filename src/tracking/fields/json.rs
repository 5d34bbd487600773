//! JSON bodies, flattened into dotted paths with array indexes:
//! `{"customer":{"interests":["a","b"]}}` becomes `customer.interests.0=a`
//! and `customer.interests.1=b`. Numbers and booleans become their JSON
//! text and `null` an empty string, so every value reaches a plugin as
//! text. Empty objects and arrays yield no field. Members of an object come
//! out in name order, because serde_json's map is a `BTreeMap` unless its
//! `preserve_order` feature is on. Array items keep their order.

use serde_json::Value;

use super::{count_failure, Fields};

/// Nesting depth past which values are skipped. serde_json already stops
/// at 128 levels; this keeps flattened names short as well.
const MAX_DEPTH: usize = 32;

/// Parses a JSON body prefix. A prefix cut at the inspection cap is not a
/// JSON document, so it yields no fields.
pub(super) fn parse(prefix: &[u8], complete: bool) -> Fields {
    if !complete {
        count_failure("json", "truncated");
        return Fields::default();
    }

    let value: Value = match serde_json::from_slice(prefix) {
        Ok(value) => value,
        Err(_) => {
            count_failure("json", "malformed");
            return Fields::default();
        }
    };

    let mut fields = Fields::default();
    flatten(&value, String::new(), 0, &mut fields);
    fields
}

fn flatten(value: &Value, path: String, depth: usize, fields: &mut Fields) {
    if depth > MAX_DEPTH {
        count_failure("json", "too_deep");
        return;
    }

    match value {
        Value::Object(map) => {
            for (key, child) in map {
                flatten(child, join(&path, key), depth + 1, fields);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                flatten(child, join(&path, &index.to_string()), depth + 1, fields);
            }
        }
        // A bare scalar document has no name to file it under.
        _ if path.is_empty() => {}
        Value::Null => fields.push(path, String::new()),
        Value::String(text) => fields.push(path, text.clone()),
        Value::Bool(_) | Value::Number(_) => fields.push(path, value.to_string()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(fields: Fields) -> Vec<(String, String)> {
        fields.into_pairs()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn nested_values_flatten_to_dotted_paths() {
        let body =
            br#"{"email":"ana@example.com","customer":{"age":42,"vip":true,"note":null,"tags":["a",{"b":1.5}]}}"#;

        assert_eq!(
            pairs(parse(body, true)),
            [
                pair("customer.age", "42"),
                pair("customer.note", ""),
                pair("customer.tags.0", "a"),
                pair("customer.tags.1.b", "1.5"),
                pair("customer.vip", "true"),
                pair("email", "ana@example.com"),
            ]
        );
    }

    #[test]
    fn repeated_interests_array_keeps_all_three() {
        let fields = parse(br#"{"interests":["running","yoga","cycling"]}"#, true);

        let names: Vec<_> = fields.clone().into_pairs().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["interests.0", "interests.1", "interests.2"]);
        assert_eq!(fields.first("interests.2"), Some("cycling"));
    }

    #[test]
    fn truncated_json_yields_no_fields() {
        assert!(parse(br#"{"email":"ana@example.com","na"#, false).is_empty());
        // Even a prefix that happens to parse is not the whole document.
        assert!(parse(br#"{"email":"ana@example.com"}"#, false).is_empty());
    }

    #[test]
    fn malformed_json_yields_no_fields() {
        for body in [&b"{"[..], b"", b"\xff\xfe", b"{\"a\":1}}", b"[1,2,"] {
            assert!(parse(body, true).is_empty(), "{body:?}");
        }
    }

    #[test]
    fn scalar_and_empty_documents_yield_no_fields() {
        for body in [&b"42"[..], b"\"text\"", b"null", b"{}", b"[]", br#"{"a":{},"b":[]}"#] {
            assert!(parse(body, true).is_empty(), "{body:?}");
        }
    }

    #[test]
    fn top_level_array_uses_indexes() {
        assert_eq!(pairs(parse(br#"["x",{"y":false}]"#, true)), [pair("0", "x"), pair("1.y", "false")]);
    }

    #[test]
    fn deep_nesting_is_skipped_not_fatal() {
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let body = format!(r#"{{"deep":{deep},"email":"a@b.c"}}"#);

        let fields = parse(body.as_bytes(), true);
        assert_eq!(pairs(fields), [pair("email", "a@b.c")]);
    }
}
