//! `multipart/form-data` bodies, read with `multer`.
//!
//! Only text parts become fields. A file part (one with a `filename`) is
//! skipped without copying its data, and parsing goes on with the parts
//! after it. The inspected prefix is usually cut inside a large file part.
//! The part that is cut and everything after it are dropped, and the whole
//! parts before it are kept.

use std::convert::Infallible;

use bytes::Bytes;

use super::{count_failure, Fields};

/// Parses a multipart body prefix. Never fails: a malformed or cut body
/// yields the text parts read before the fault.
pub(super) async fn parse(prefix: Bytes, boundary: &str, complete: bool) -> Fields {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(prefix) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Fields::default();

    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                count_cut_or_malformed(complete);
                break;
            }
        };

        // Reading the next part skips the rest of this one unread.
        if field.file_name().is_some() {
            continue;
        }
        let name = field.name().unwrap_or_default().to_owned();
        match field.text().await {
            Ok(value) => fields.push(name, value),
            Err(_) => {
                count_cut_or_malformed(complete);
                break;
            }
        }
    }
    fields
}

fn count_cut_or_malformed(complete: bool) {
    let reason = if complete { "malformed" } else { "truncated" };
    count_failure("multipart", reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "----footprint7MA4YWxk";

    fn text_part(name: &str, value: &str) -> String {
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    }

    fn file_part(name: &str, contents: &str) -> String {
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{contents}\r\n"
        )
    }

    fn closing() -> String {
        format!("--{BOUNDARY}--\r\n")
    }

    async fn parse_text(body: String, complete: bool) -> Vec<(String, String)> {
        parse(Bytes::from(body), BOUNDARY, complete).await.into_pairs()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[tokio::test]
    async fn text_parts_become_fields_in_order() {
        let body = [text_part("email", "ana@example.com"), text_part("first_name", "Ana"), closing()].concat();

        assert_eq!(parse_text(body, true).await, [pair("email", "ana@example.com"), pair("first_name", "Ana")]);
    }

    #[tokio::test]
    async fn repeated_interests_parts_keep_all_three() {
        let body = [
            text_part("interests", "running"),
            text_part("interests", "yoga"),
            text_part("interests[]", "cycling"),
            closing(),
        ]
        .concat();

        assert_eq!(
            parse_text(body, true).await,
            [pair("interests", "running"), pair("interests", "yoga"), pair("interests[]", "cycling")]
        );
    }

    #[tokio::test]
    async fn file_parts_are_skipped_and_parsing_continues() {
        let body = [
            text_part("email", "ana@example.com"),
            file_part("avatar", &"x".repeat(10_000)),
            text_part("city", "Lisbon"),
            closing(),
        ]
        .concat();

        assert_eq!(parse_text(body, true).await, [pair("email", "ana@example.com"), pair("city", "Lisbon")]);
    }

    #[tokio::test]
    async fn prefix_cut_drops_the_incomplete_part() {
        let whole = [text_part("email", "ana@example.com"), text_part("note", "a long note"), closing()].concat();
        let cut_at = whole.find("a long").expect("note value present") + 3;

        assert_eq!(parse_text(whole[..cut_at].to_owned(), false).await, [pair("email", "ana@example.com")]);
    }

    #[tokio::test]
    async fn prefix_cut_inside_file_keeps_earlier_parts() {
        let whole = [text_part("email", "ana@example.com"), file_part("upload", &"y".repeat(5000)), closing()].concat();

        assert_eq!(parse_text(whole[..1000].to_owned(), false).await, [pair("email", "ana@example.com")]);
    }

    #[tokio::test]
    async fn quoted_boundary_value_parses() {
        let encoding = super::super::FormEncoding::from_content_type(Some(&format!(
            "multipart/form-data; boundary=\"{BOUNDARY}\""
        )));
        let Some(super::super::FormEncoding::Multipart { boundary }) = encoding else {
            panic!("expected multipart, got {encoding:?}");
        };
        let body = [text_part("email", "ana@example.com"), closing()].concat();

        let fields = parse(Bytes::from(body), &boundary, true).await;
        assert_eq!(fields.first("email"), Some("ana@example.com"));
    }

    #[tokio::test]
    async fn malformed_bodies_never_panic() {
        let bodies = [
            String::new(),
            "garbage without boundaries".to_owned(),
            format!("--{BOUNDARY}\r\nno headers end"),
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n{}", closing()),
            format!("--{BOUNDARY}--\r\n"),
            "--other\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--other--\r\n".to_owned(),
        ];

        for body in bodies {
            let _ = parse_text(body.clone(), true).await;
            let _ = parse_text(body, false).await;
        }
    }

    #[tokio::test]
    async fn wrong_boundary_yields_no_fields() {
        let body = [text_part("email", "ana@example.com"), closing()].concat();

        assert!(parse(Bytes::from(body), "not-the-boundary", true).await.is_empty());
    }
}
