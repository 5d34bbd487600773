//! Compiled activity and identify rules, and the response conditions they
//! depend on.

use std::collections::BTreeMap;

use cookie::Cookie;
use http::{HeaderMap, Method, StatusCode};
use regex::Regex;

use super::{Fields, PathPattern};
use crate::config::{ActivityRule, IdentifyRule, ResponseCondition};

/// Facts about a response, for evaluating success conditions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseFacts {
    pub status: u16,
    /// Path of the `Location` header, absolute URLs reduced to their path.
    pub location_path: Option<String>,
    /// Names of cookies the response set to a non-empty value.
    pub cookies_set: Vec<String>,
}

impl ResponseFacts {
    pub fn from_head(status: StatusCode, headers: &HeaderMap) -> ResponseFacts {
        let location_path = headers.get(http::header::LOCATION).and_then(|value| value.to_str().ok()).map(|location| {
            match location.parse::<http::Uri>() {
                Ok(uri) if uri.scheme().is_some() => uri.path().to_owned(),
                _ => location.to_owned(),
            }
        });

        let cookies_set = headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|text| Cookie::parse(text).ok())
            .filter(|cookie| !cookie.value().trim_matches('"').is_empty())
            .map(|cookie| cookie.name().to_owned())
            .collect();

        ResponseFacts { status: status.as_u16(), location_path, cookies_set }
    }
}

impl ResponseCondition {
    /// Returns true when every condition given holds for `facts`.
    pub fn matches(&self, facts: &ResponseFacts) -> bool {
        let status_ok = if self.status.is_empty() {
            (200..400).contains(&facts.status)
        } else {
            self.status.contains(&facts.status)
        };
        let location_ok = match &self.location_prefix {
            Some(prefix) => facts.location_path.as_deref().is_some_and(|path| path.starts_with(prefix.as_str())),
            None => true,
        };
        let cookie_ok = match &self.set_cookie {
            Some(name) => facts.cookies_set.iter().any(|set| set == name),
            None => true,
        };
        status_ok && location_ok && cookie_ok
    }
}

/// A compiled activity rule.
#[derive(Clone, Debug)]
pub struct CompiledActivity {
    pub rule: ActivityRule,
    path: PathPattern,
    body_captures: Vec<(String, Regex)>,
}

/// A compiled identify rule.
#[derive(Clone, Debug)]
pub struct CompiledIdentify {
    pub rule: IdentifyRule,
    path: PathPattern,
}

/// All rules, in configuration order.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub activities: Vec<CompiledActivity>,
    pub identify: Vec<CompiledIdentify>,
}

/// A rule whose method and path matched, with its path captures. Fields
/// and the response decide later whether it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub index: usize,
    pub captures: BTreeMap<String, String>,
}

/// The candidate rules of one request.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    pub activities: Vec<Candidate>,
    pub identify: Vec<Candidate>,
}

impl Rules {
    /// Compiles validated rules.
    pub fn compile(activities: &[ActivityRule], identify: &[IdentifyRule]) -> Result<Rules, String> {
        let activities = activities
            .iter()
            .map(|rule| {
                let body_captures = rule
                    .response_body
                    .iter()
                    .map(|(name, pattern)| Regex::new(pattern).map(|regex| (name.clone(), regex)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| error.to_string())?;
                Ok(CompiledActivity { path: PathPattern::parse(&rule.path)?, rule: rule.clone(), body_captures })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let identify = identify
            .iter()
            .map(|rule| Ok(CompiledIdentify { path: PathPattern::parse(&rule.path)?, rule: rule.clone() }))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Rules { activities, identify })
    }

    /// Finds the rules whose methods and path match.
    pub fn candidates(&self, method: &Method, path: &str) -> Candidates {
        let method_matches = |methods: &[String]| methods.iter().any(|m| m == method.as_str());

        let activities = self
            .activities
            .iter()
            .enumerate()
            .filter(|(_, compiled)| method_matches(&compiled.rule.methods))
            .filter_map(|(index, compiled)| Some(Candidate { index, captures: compiled.path.captures(path)? }))
            .collect();
        let identify = self
            .identify
            .iter()
            .enumerate()
            .filter(|(_, compiled)| method_matches(&compiled.rule.methods))
            .filter_map(|(index, compiled)| Some(Candidate { index, captures: compiled.path.captures(path)? }))
            .collect();
        Candidates { activities, identify }
    }

    /// Returns true when a candidate needs the request's form fields.
    pub fn needs_form(&self, candidates: &Candidates) -> bool {
        let activity_needs = candidates.activities.iter().any(|c| {
            let rule = &self.activities[c.index].rule;
            !rule.fields.is_empty() || !rule.require_fields.is_empty()
        });
        activity_needs || !candidates.identify.is_empty()
    }

    /// Returns true when a candidate captures from the response body.
    pub fn needs_response_body(&self, candidates: &Candidates) -> bool {
        candidates.activities.iter().any(|c| !self.activities[c.index].body_captures.is_empty())
    }

    /// Picks the first activity candidate whose required fields are present
    /// and whose success condition holds, and returns it with its
    /// properties: path captures, then mapped fields, then response body
    /// captures.
    pub fn select_activity<'a>(
        &'a self,
        candidates: &Candidates,
        fields: &Fields,
        facts: &ResponseFacts,
        response_body: Option<&str>,
    ) -> Option<(&'a ActivityRule, BTreeMap<String, String>)> {
        for candidate in &candidates.activities {
            let compiled = &self.activities[candidate.index];
            let rule = &compiled.rule;
            if !rule.require_fields.iter().all(|name| fields.contains(name)) || !rule.success.matches(facts) {
                continue;
            }

            let mut properties = rule.properties.clone();
            properties.extend(candidate.captures.clone());
            for (property, field) in &rule.fields {
                if let Some(value) = fields.first(field) {
                    properties.insert(property.clone(), value.to_owned());
                }
            }
            for (property, regex) in &compiled.body_captures {
                let captured = response_body.and_then(|body| regex.captures(body)).and_then(|caps| caps.get(1));
                if let Some(value) = captured {
                    properties.insert(property.clone(), value.as_str().to_owned());
                }
            }
            if let Some(name) = &rule.name {
                properties.insert("form".to_owned(), name.clone());
            }
            return Some((rule, properties));
        }
        None
    }

    /// Picks the first identify candidate that applies and returns it with
    /// the submitted email (as typed).
    pub fn select_identify<'a>(
        &'a self,
        candidates: &Candidates,
        fields: &Fields,
        facts: &ResponseFacts,
    ) -> Option<(&'a IdentifyRule, String)> {
        candidates.identify.iter().find_map(|candidate| {
            let rule = &self.identify[candidate.index].rule;
            let applies = rule.require_fields.iter().all(|name| fields.contains(name)) && rule.success.matches(facts);
            if !applies {
                return None;
            }
            fields.first(&rule.email_field).map(|email| (rule, email.to_owned()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: u16, location: Option<&str>, cookies: &[&str]) -> ResponseFacts {
        ResponseFacts {
            status,
            location_path: location.map(str::to_owned),
            cookies_set: cookies.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn empty_status_list_accepts_2xx_and_3xx() {
        let condition = ResponseCondition::default();
        assert!(condition.matches(&facts(200, None, &[])));
        assert!(condition.matches(&facts(302, None, &[])));
        assert!(!condition.matches(&facts(403, None, &[])));
        assert!(!condition.matches(&facts(422, None, &[])));
    }

    #[test]
    fn every_given_condition_must_hold() {
        let condition = ResponseCondition {
            status: vec![302],
            location_prefix: Some("/accounts/".to_owned()),
            set_cookie: Some("sessionid".to_owned()),
        };
        assert!(condition.matches(&facts(302, Some("/accounts/profile/"), &["csrftoken", "sessionid"])));
        assert!(!condition.matches(&facts(302, Some("/accounts/profile/"), &["csrftoken"])));
        assert!(!condition.matches(&facts(302, Some("/basket/"), &["sessionid"])));
        assert!(!condition.matches(&facts(200, Some("/accounts/profile/"), &["sessionid"])));
    }

    #[test]
    fn facts_ignore_cleared_cookies_and_reduce_absolute_locations() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::SET_COOKIE, r#"sessionid=""; Max-Age=0; Path=/"#.parse().expect("header"));
        headers.append(http::header::SET_COOKIE, "csrftoken=abc; Path=/".parse().expect("header"));
        headers.insert(http::header::LOCATION, "http://127.0.0.1:8000/catalogue/x_1/".parse().expect("header"));

        let facts = ResponseFacts::from_head(StatusCode::FOUND, &headers);

        assert_eq!(facts.cookies_set, vec!["csrftoken".to_owned()]);
        assert_eq!(facts.location_path.as_deref(), Some("/catalogue/x_1/"));
    }
}
