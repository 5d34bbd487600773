//! The demo shop's newsletter and profile forms, which accept a body in any
//! of the three encodings browsers and shop scripts send: urlencoded,
//! `multipart/form-data` and JSON.
//!
//! Like the rest of the shop, this file uses no Footprint code: it reads
//! bodies with `form_urlencoded`, `multer` and `serde_json` directly, the
//! way a real shop's framework would. Both forms respond 303 on success and
//! 422 on invalid input. The profile form also responds 403 when its hidden
//! `csrf` field is present with a value other than [`CSRF_TOKEN`], as a
//! shop does for a stale form.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::Value;

use super::shop::{escape, page};

/// The profile form's hidden token.
pub const CSRF_TOKEN: &str = "demo-csrf";

/// The interests the profile form offers.
pub const INTERESTS: [&str; 4] = ["running", "yoga", "cycling", "hiking"];

/// Reads a form body as name/value pairs in submission order, or `None`
/// when the body does not parse. File parts of a multipart body are read
/// past and left out.
pub async fn read_form(headers: &HeaderMap, body: Bytes) -> Option<Vec<(String, String)>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();

    match media_type.as_str() {
        "application/x-www-form-urlencoded" => Some(form_urlencoded::parse(&body).into_owned().collect()),
        "application/json" => {
            let document: Value = serde_json::from_slice(&body).ok()?;
            let Value::Object(members) = document else {
                return None;
            };
            let mut pairs = Vec::new();
            for (name, value) in members {
                match value {
                    Value::Array(items) => pairs.extend(items.iter().map(|item| (name.clone(), json_text(item)))),
                    other => pairs.push((name, json_text(&other))),
                }
            }
            Some(pairs)
        }
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(content_type).ok()?;
            let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(body) });
            let mut multipart = multer::Multipart::new(stream, boundary);
            let mut pairs = Vec::new();
            while let Some(field) = multipart.next_field().await.ok()? {
                let name = field.name().unwrap_or_default().to_owned();
                if field.file_name().is_some() {
                    // The upload is read and dropped: the shop does not keep files.
                    field.bytes().await.ok()?;
                    continue;
                }
                pairs.push((name, field.text().await.ok()?));
            }
            Some(pairs)
        }
        _ => None,
    }
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(field, _)| field == name).map(|(_, value)| value.trim())
}

fn unprocessable(title: &str, message: &str) -> Response {
    let body = format!(r#"<p class="error">{}</p>"#, escape(message));
    (StatusCode::UNPROCESSABLE_ENTITY, Html(page(title, &body))).into_response()
}

/// Renders the newsletter form: email, first name and the consent checkbox.
pub fn newsletter_form() -> String {
    r#"<form action="/newsletter" method="post">
<label>Email <input name="email" type="email" required></label>
<label>First name <input name="first_name"></label>
<label><input type="checkbox" name="newsletter" value="yes"> Send me the newsletter</label>
<button>Subscribe</button></form>"#
        .to_owned()
}

/// `POST /newsletter`: 303 to the thanks page, or 422 without a valid email.
pub async fn newsletter(headers: HeaderMap, body: Bytes) -> Response {
    let Some(pairs) = read_form(&headers, body).await else {
        return unprocessable("Newsletter", "The form could not be read.");
    };
    let email = last(&pairs, "email").unwrap_or_default();
    if !email.contains('@') {
        return unprocessable("Newsletter", "Please enter a valid email address.");
    }
    Redirect::to("/newsletter/thanks").into_response()
}

/// Renders the profile form: cellphone, date of birth, city, shoe size and
/// interests.
pub fn profile_form() -> String {
    let interests: String = INTERESTS
        .iter()
        .map(|interest| {
            format!(r#"<label><input type="checkbox" name="interests" value="{interest}"> {interest}</label>"#)
        })
        .collect();
    format!(
        r#"<form action="/profile" method="post">
<input type="hidden" name="csrf" value="{CSRF_TOKEN}">
<label>Cellphone <input name="cellphone" type="tel" required></label>
<label>Date of birth <input name="date_of_birth" type="date"></label>
<label>City <input name="city"></label>
<label>Shoe size <input name="shoe_size" inputmode="decimal"></label>
<fieldset><legend>Interests</legend>{interests}</fieldset>
<button>Save</button></form>"#
    )
}

/// `POST /profile`: 303 to the thanks page; 403 for a stale `csrf` token;
/// 422 without a cellphone, with a shoe size that is not a number, or with
/// an unknown interest.
pub async fn profile(headers: HeaderMap, body: Bytes) -> Response {
    let Some(pairs) = read_form(&headers, body).await else {
        return unprocessable("Your profile", "The form could not be read.");
    };
    if last(&pairs, "csrf").is_some_and(|token| token != CSRF_TOKEN) {
        let body = "<p class=\"error\">This form has expired. Reload the page and try again.</p>";
        return (StatusCode::FORBIDDEN, Html(page("Your profile", body))).into_response();
    }

    let cellphone = last(&pairs, "cellphone").unwrap_or_default();
    if cellphone.chars().filter(char::is_ascii_digit).count() < 6 {
        return unprocessable("Your profile", "Please enter your cellphone number.");
    }
    let shoe_size = last(&pairs, "shoe_size").unwrap_or_default();
    if !shoe_size.is_empty() && shoe_size.replace(',', ".").parse::<f64>().is_err() {
        return unprocessable("Your profile", "The shoe size must be a number, such as 42 or 42.5.");
    }
    let interest_names = ["interests", "interests[]"];
    let unknown_interest = pairs
        .iter()
        .filter(|(name, _)| interest_names.contains(&name.as_str()))
        .any(|(_, value)| !INTERESTS.contains(&value.trim()));
    if unknown_interest {
        return unprocessable("Your profile", "Please pick interests from the list.");
    }
    Redirect::to("/profile/thanks").into_response()
}
