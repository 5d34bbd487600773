//! Footprint field-capture plugin for newsletter signup forms.
//!
//! It reads the email address, the first name and the newsletter checkbox
//! of a submission and returns them as contact fields, a newsletter consent
//! and an email identity. The form rules live in [`signup`]; this file only
//! converts between them and the WIT types of `footprint:plugin@1.0.0`.

mod signup;

use bindings::footprint::plugin::types::{Channel, Consent, FieldValue, Identity};
use bindings::{Capture, Guest, Submission};

/// Guest bindings of the `field-capture` world, generated from `../wit`.
mod bindings {
    // The generated lowering code takes one argument per flattened field.
    #![allow(clippy::too_many_arguments)]

    wit_bindgen::generate!({
        path: "../wit",
        world: "field-capture",
        pub_export_macro: true,
    });
}

struct Newsletter;

impl Guest for Newsletter {
    fn capture(submission: Submission) -> Result<Capture, String> {
        let signup =
            signup::read_signup(submission.fields.iter().map(|field| (field.name.as_str(), field.value.as_str())));

        let mut fields = Vec::new();
        if let Some(email) = &signup.email {
            fields.push(FieldValue { name: "email".to_owned(), value: email.clone() });
        }
        if let Some(first_name) = signup.first_name {
            fields.push(FieldValue { name: "first_name".to_owned(), value: first_name });
        }

        let consents = signup
            .newsletter
            .map(|subscribed| Consent { channel: Channel::Newsletter, subscribed })
            .into_iter()
            .collect();

        Ok(Capture { fields, consents, identity: signup.email.map(Identity::Email) })
    }
}

bindings::export!(Newsletter with_types_in bindings);
