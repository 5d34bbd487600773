//! Size caps on what goes into and comes out of a plugin call.
//!
//! Input past a cap is cut at a field boundary: the plugin gets the fields
//! that fit, in order, and never a partial value. Output over a cap is
//! rejected whole, because applying part of a capture could leave a
//! contact half-updated.

use super::{Capture, Identity, PluginFault, Submission};
use crate::config::PluginLimits;

/// Keeps the leading fields of `submission` that fit both input caps and
/// returns how many were dropped. Bytes are those of names and values.
pub(crate) fn truncate_input(submission: &mut Submission, limits: &PluginLimits) -> usize {
    let mut bytes = 0usize;
    let mut kept = 0usize;
    for field in &submission.fields {
        let size = field.name.len() + field.value.len();
        if kept == limits.max_input_fields || bytes + size > limits.max_input_bytes {
            break;
        }
        bytes += size;
        kept += 1;
    }

    let dropped = submission.fields.len() - kept;
    submission.fields.truncate(kept);
    dropped
}

/// Rejects a capture over either output cap. Fields and consents both
/// count as entries; bytes are field names and values plus the identity.
pub(crate) fn check_output(capture: &Capture, limits: &PluginLimits) -> Result<(), PluginFault> {
    let entries = capture.fields.len() + capture.consents.len();
    if entries > limits.max_output_fields {
        return Err(PluginFault::OutputTooLarge {
            reason: format!("{entries} entries, the limit is {}", limits.max_output_fields),
        });
    }

    let identity_bytes = match &capture.identity {
        Some(Identity::Email(text) | Identity::Phone(text) | Identity::CustomerId(text)) => text.len(),
        None => 0,
    };
    let bytes = capture.fields.iter().map(|field| field.name.len() + field.value.len()).sum::<usize>() + identity_bytes;
    if bytes > limits.max_output_bytes {
        return Err(PluginFault::OutputTooLarge {
            reason: format!("{bytes} bytes, the limit is {}", limits.max_output_bytes),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::{Channel, Consent, Field, FieldValue};

    fn submission(fields: &[(&str, &str)]) -> Submission {
        Submission {
            fields: fields.iter().map(|(name, value)| Field { name: (*name).into(), value: (*value).into() }).collect(),
            ..Submission::default()
        }
    }

    #[test]
    fn input_within_caps_is_kept() {
        let mut input = submission(&[("a", "1"), ("b", "2")]);

        let dropped = truncate_input(&mut input, &PluginLimits::default());

        assert_eq!(dropped, 0);
        assert_eq!(input.fields.len(), 2);
    }

    #[test]
    fn input_cut_at_field_count() {
        let limits = PluginLimits { max_input_fields: 2, ..PluginLimits::default() };
        let mut input = submission(&[("a", "1"), ("b", "2"), ("c", "3")]);

        let dropped = truncate_input(&mut input, &limits);

        assert_eq!(dropped, 1);
        assert_eq!(input.fields.last().map(|field| field.name.as_str()), Some("b"));
    }

    #[test]
    fn input_cut_before_partial_field() {
        let limits = PluginLimits { max_input_bytes: 5, ..PluginLimits::default() };
        let mut input = submission(&[("a", "1"), ("b", "2345"), ("c", "")]);

        let dropped = truncate_input(&mut input, &limits);

        assert_eq!(dropped, 2);
        assert_eq!(input.fields, submission(&[("a", "1")]).fields);
    }

    #[test]
    fn output_over_entry_cap_rejected() {
        let limits = PluginLimits { max_output_fields: 1, ..PluginLimits::default() };
        let capture = Capture {
            fields: vec![FieldValue { name: "a".into(), value: "1".into() }],
            consents: vec![Consent { channel: Channel::Newsletter, subscribed: true }],
            identity: None,
        };

        let result = check_output(&capture, &limits);

        assert!(matches!(result, Err(PluginFault::OutputTooLarge { .. })), "{result:?}");
    }

    #[test]
    fn output_over_byte_cap_rejected() {
        let limits = PluginLimits { max_output_bytes: 10, ..PluginLimits::default() };
        let capture = Capture {
            fields: vec![FieldValue { name: "a".into(), value: "1".into() }],
            consents: Vec::new(),
            identity: Some(Identity::Email("someone@example.com".into())),
        };

        let result = check_output(&capture, &limits);

        assert!(matches!(result, Err(PluginFault::OutputTooLarge { .. })), "{result:?}");
    }

    #[test]
    fn output_at_caps_accepted() {
        let limits = PluginLimits { max_output_fields: 1, max_output_bytes: 2, ..PluginLimits::default() };
        let capture =
            Capture { fields: vec![FieldValue { name: "a".into(), value: "1".into() }], ..Capture::default() };

        assert!(check_output(&capture, &limits).is_ok());
    }
}
