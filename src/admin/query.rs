//! Query strings of admin routes, parsed so that every mistake becomes a
//! problem naming the parameter: unknown names and repeated ones included.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::Problem;

/// Parses `raw` into `T`, whose fields must all be `Option<String>` named
/// like the parameters in `allowed`.
pub fn parse<T: DeserializeOwned>(raw: Option<&str>, allowed: &[&str]) -> Result<T, Problem> {
    let mut values = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&name.as_ref()) {
            return Err(Problem::invalid(name, format!("unknown parameter; expected one of {}", allowed.join(", "))));
        }
        if values.insert(name.to_string(), serde_json::Value::String(value.into_owned())).is_some() {
            return Err(Problem::invalid(name, "given more than once; send it once (lists are comma-separated)"));
        }
    }

    serde_json::from_value(serde_json::Value::Object(values.into_iter().collect()))
        .map_err(|error| Problem::invalid("query", error.to_string()))
}

/// Reads a `limit` parameter: `default` when absent, else a whole number
/// from 1 to `max`.
pub fn page_limit(text: Option<&str>, default: usize, max: usize) -> Result<usize, Problem> {
    let Some(text) = text else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
        _ => Err(Problem::invalid("limit", format!("expected a whole number from 1 to {max}"))),
    }
}
