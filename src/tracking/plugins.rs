//! Plugin routes: which `[[plugin]]` rules apply to a request, and the call
//! that runs them while the shop prepares its response.
//!
//! A route matches on method, path pattern (as in `[[activity]]` rules) and
//! the body's media type. The call starts as soon as the request body
//! prefix is copied, in a spawned task: it parses the form, builds one
//! [`Submission`] and calls each matching plugin in configuration order.
//! Nothing here waits for the call on the request path. Its result is used
//! only after the response head, when the route's success condition is
//! known, and a fault is logged and counted by the plugin host and never
//! reaches the shopper.

use std::sync::Arc;

use http::Method;
use tokio::task::JoinHandle;

use super::fields::{Fields, FormEncoding};
use super::PathPattern;
use crate::config::{PluginRule, ResponseCondition};
use crate::plugins::{Capture, Field, PluginFault, PluginHost, Submission};
use crate::proxy::Inspected;

/// The compiled `[[plugin]]` routes.
#[derive(Debug, Default)]
pub struct PluginRoutes {
    routes: Vec<PluginRoute>,
}

#[derive(Debug)]
struct PluginRoute {
    name: String,
    path: PathPattern,
    methods: Vec<String>,
    /// Lowercased media types without parameters.
    content_types: Vec<String>,
    success: ResponseCondition,
    max_input_bytes: usize,
}

/// The outcome of each plugin a request ran, by route index.
pub type RunResults = Vec<(usize, Result<Capture, PluginFault>)>;

/// The state a request needs to run its plugins once the body prefix is copied.
#[derive(Debug)]
pub struct PluginPlan {
    /// Indexes of the matching routes, in configuration order.
    pub matched: Vec<usize>,
    pub encoding: FormEncoding,
    pub method: String,
    /// Request path without the query string.
    pub route: String,
    pub query: Fields,
    /// The started call, once the body prefix arrived.
    pub run: Option<JoinHandle<RunResults>>,
}

impl PluginRoutes {
    /// Compiles validated `[[plugin]]` rules.
    pub fn compile(rules: &[PluginRule]) -> Result<PluginRoutes, String> {
        let routes = rules
            .iter()
            .map(|rule| {
                Ok(PluginRoute {
                    name: rule.name.clone(),
                    path: PathPattern::parse(&rule.path)?,
                    methods: rule.methods.iter().map(|method| method.to_ascii_uppercase()).collect(),
                    content_types: rule.content_types.iter().map(|media| super::fields::media_type(media)).collect(),
                    success: rule.success.clone(),
                    max_input_bytes: rule.limits.max_input_bytes,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(PluginRoutes { routes })
    }

    /// Returns the indexes of the routes matching a request.
    pub fn matching(&self, method: &Method, path: &str, media_type: &str) -> Vec<usize> {
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, route)| route.methods.iter().any(|allowed| allowed == method.as_str()))
            .filter(|(_, route)| route.content_types.iter().any(|allowed| allowed == media_type))
            .filter(|(_, route)| route.path.captures(path).is_some())
            .map(|(index, _)| index)
            .collect()
    }

    /// Returns the body prefix the matched routes need: the largest input
    /// cap among them.
    pub fn inspect_bytes(&self, matched: &[usize]) -> usize {
        matched.iter().map(|&index| self.routes[index].max_input_bytes).max().unwrap_or(0)
    }

    pub fn name(&self, index: usize) -> &str {
        &self.routes[index].name
    }

    pub fn success(&self, index: usize) -> &ResponseCondition {
        &self.routes[index].success
    }
}

impl PluginPlan {
    /// Starts the call of every matched plugin on `body` in a spawned task,
    /// unless it was started already.
    pub fn start(&mut self, routes: &Arc<PluginRoutes>, host: &Arc<PluginHost>, body: &Inspected) {
        if self.run.is_some() {
            return;
        }

        let mut fields = self.query.clone();
        let encoding = self.encoding.clone();
        let prefix = body.bytes.clone();
        let complete = body.complete;
        let base = Submission {
            route: self.route.clone(),
            method: self.method.clone(),
            content_type: encoding.media_type().to_owned(),
            fields: Vec::new(),
        };
        let matched = self.matched.clone();
        let routes = routes.clone();
        let host = host.clone();

        let run = async move {
            fields.extend(Fields::from_body_prefix(&encoding, prefix, complete).await);
            let submission = Submission {
                fields: fields.into_pairs().into_iter().map(|(name, value)| Field { name, value }).collect(),
                ..base
            };

            let mut results = Vec::with_capacity(matched.len());
            for index in matched {
                let result = host.call(routes.name(index), submission.clone()).await;
                results.push((index, result));
            }
            results
        };
        self.run = Some(tokio::spawn(tracing::Instrument::in_current_span(run)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, path: &str, methods: &[&str], content_types: &[&str]) -> PluginRule {
        let text = format!(
            r#"name = "{name}"
               file = "{name}.wasm"
               path = "{path}"
               success = {{ status = [303] }}
               methods = {methods:?}
               content_types = {content_types:?}"#
        );
        toml::from_str(&text).expect("valid plugin rule")
    }

    fn routes() -> PluginRoutes {
        let mut profile = rule("profile", "/profile", &["POST"], &["application/x-www-form-urlencoded"]);
        profile.limits.max_input_bytes = 1000;
        let mut any_form = rule("any", "/forms/*", &["post", "PUT"], &["Multipart/Form-Data; charset=utf-8"]);
        any_form.limits.max_input_bytes = 5000;
        PluginRoutes::compile(&[profile, any_form]).expect("valid routes")
    }

    #[test]
    fn routes_match_method_path_and_media_type() {
        let routes = routes();

        assert_eq!(routes.matching(&Method::POST, "/profile", "application/x-www-form-urlencoded"), [0]);
        assert_eq!(routes.matching(&Method::PUT, "/forms/signup", "multipart/form-data"), [1]);
        assert_eq!(routes.matching(&Method::POST, "/forms/a/b", "multipart/form-data"), [1]);
    }

    #[test]
    fn routes_reject_other_requests() {
        let routes = routes();

        assert!(routes.matching(&Method::GET, "/profile", "application/x-www-form-urlencoded").is_empty());
        assert!(routes.matching(&Method::POST, "/profile", "application/json").is_empty());
        assert!(routes.matching(&Method::POST, "/profile/extra", "application/x-www-form-urlencoded").is_empty());
        assert!(routes.matching(&Method::DELETE, "/forms/signup", "multipart/form-data").is_empty());
    }

    #[test]
    fn inspect_bytes_is_largest_input_cap() {
        let routes = routes();

        assert_eq!(routes.inspect_bytes(&[0]), 1000);
        assert_eq!(routes.inspect_bytes(&[0, 1]), 5000);
        assert_eq!(routes.inspect_bytes(&[]), 0);
    }
}
