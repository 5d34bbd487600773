//! Footprint field-capture plugin for profile and checkout forms.
//!
//! It reads the cellphone number, the date of birth and three custom
//! fields (`city`, `shoe_size` and the multiple-choice `interests`) and
//! returns them as contact fields. It sets no identity and no consent. The
//! form rules live in [`profile`] and [`date`]; this file only converts
//! between them and the WIT types of `footprint:plugin@1.0.0`.

mod date;
mod profile;

use bindings::footprint::plugin::types::FieldValue;
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

struct ProfilePlugin;

impl Guest for ProfilePlugin {
    fn capture(submission: Submission) -> Result<Capture, String> {
        let profile =
            profile::read_profile(submission.fields.iter().map(|field| (field.name.as_str(), field.value.as_str())));

        let single_values = [
            ("cellphone", profile.cellphone),
            ("date_of_birth", profile.date_of_birth),
            ("city", profile.city),
            ("shoe_size", profile.shoe_size),
        ];
        let mut fields: Vec<FieldValue> = single_values
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| FieldValue { name: name.to_owned(), value }))
            .collect();

        // One entry per choice: Footprint gives a multiple-choice field all
        // the values of entries with its name.
        fields.extend(profile.interests.into_iter().map(|value| FieldValue { name: "interests".to_owned(), value }));

        Ok(Capture { fields, consents: Vec::new(), identity: None })
    }
}

bindings::export!(ProfilePlugin with_types_in bindings);
