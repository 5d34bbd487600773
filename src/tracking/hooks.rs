//! Footprint's decisions at each phase of a proxied request.
//!
//! Phase by phase (see the crate documentation for the whole lifecycle):
//!
//! - **request** ([`Hooks::on_request`]): skip static assets and bots;
//!   read the tracker cookie or mint a tracker; find the rules whose method
//!   and path match, and ask for the form body prefix when one needs it.
//! - **request body** ([`Hooks::on_request_body`]): on a plugin route,
//!   start the plugin call on the copied form prefix while the shop is
//!   still preparing its response.
//! - **response** ([`Hooks::on_response`]): note the status, `Location` and
//!   cookies set; read and remove the identify header; append the tracker's
//!   `Set-Cookie` when it was minted; ask for the response body prefix when
//!   a rule captures from it.
//! - **complete** ([`Hooks::on_complete`]): off the response path, parse
//!   the form fields, select the rules that apply and queue the events.
//!   A plugin's capture is queued once its call ended, and only when the
//!   response matches the plugin route's success condition.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use http::{request, response, Method};

use super::fields::{media_type, Fields, FormEncoding};
use super::plugins::{PluginPlan, PluginRoutes};
use super::rules::{Candidates, ResponseFacts, Rules};
use super::{Filter, Personalisation, TrackerKeys};
use crate::config::{Config, SecureMode};
use crate::plugins::{AcceptedCapture, PluginHost};
use crate::proxy::{Exchange, Hooks, Inspected, PeerRange};
use crate::recorder::{Browser, Event, Recorder};
use crate::store::{now_millis, Activity, ActivityKind, Millis, TrackerId};

/// The tracking side of the proxy.
pub struct Tracking {
    keys: TrackerKeys,
    filter: Filter,
    rules: Rules,
    plugin_routes: Arc<PluginRoutes>,
    plugins: Arc<PluginHost>,
    recorder: Recorder,
    cookie_name: String,
    max_age_days: u32,
    secure: SecureMode,
    trusted_proxies: Vec<PeerRange>,
    /// Lowercased; `None` when the identify header is disabled.
    identify_header: Option<HeaderName>,
    form_inspect_bytes: usize,
    response_inspect_bytes: usize,
    /// `None` when personalisation headers are off.
    personalisation: Option<std::sync::Arc<Personalisation>>,
}

/// Per-request state, carried from the request head to completion.
pub struct Plan {
    tracked: Option<Tracked>,
}

struct Tracked {
    browser: Browser,
    /// The `Set-Cookie` value when the tracker was minted for this request.
    set_cookie: Option<HeaderValue>,
    at: Millis,
    /// Path and query.
    url: String,
    referrer: Option<String>,
    query: Fields,
    /// The body's form encoding, when it has a readable one.
    encoding: Option<FormEncoding>,
    candidates: Candidates,
    response: ResponseFacts,
    /// Email from the shop's identify header.
    header_email: Option<String>,
    /// Set on a plugin route with a form body.
    plugin: Option<PluginPlan>,
}

impl Tracking {
    /// Builds the tracking hooks from a validated configuration.
    pub fn new(config: &Config, recorder: Recorder, plugins: Arc<PluginHost>) -> Result<Tracking, String> {
        let keys = TrackerKeys::from_config(&config.tracker.keys)?;
        let filter = Filter::new(&config.tracker).map_err(|error| error.to_string())?;
        let rules = Rules::compile(&config.activities, &config.identify_forms)?;
        let plugin_routes = Arc::new(PluginRoutes::compile(&config.plugin_rules)?);
        let trusted_proxies =
            config.proxy.trusted_proxies.iter().map(|peer| PeerRange::parse(peer)).collect::<Result<Vec<_>, _>>()?;
        let identify_header = match config.identify_header.name.trim() {
            "" => None,
            name => Some(HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|e| e.to_string())?),
        };

        Ok(Tracking {
            keys,
            filter,
            rules,
            plugin_routes,
            plugins,
            recorder,
            cookie_name: config.tracker.cookie_name.clone(),
            max_age_days: config.tracker.max_age_days,
            secure: config.tracker.secure,
            trusted_proxies,
            identify_header,
            form_inspect_bytes: config.proxy.form_inspect_bytes,
            response_inspect_bytes: config.proxy.response_inspect_bytes,
            personalisation: None,
        })
    }

    /// Adds personalisation headers to forwarded requests.
    pub fn with_personalisation(mut self, personalisation: Option<std::sync::Arc<Personalisation>>) -> Tracking {
        self.personalisation = personalisation;
        self
    }

    /// Decides the cookie's `Secure` attribute: the proxy itself speaks
    /// plain HTTP, so HTTPS is known only from a trusted front proxy.
    fn is_secure(&self, head: &request::Parts, peer: SocketAddr) -> bool {
        match self.secure {
            SecureMode::Always => true,
            SecureMode::Never => false,
            SecureMode::Auto => {
                let trusted = self.trusted_proxies.iter().any(|range| range.contains(peer.ip()));
                trusted && forwarded_https(&head.headers)
            }
        }
    }

    fn activity(&self, tracked: &Tracked, kind: ActivityKind, properties: BTreeMap<String, String>) -> Activity {
        Activity { at: tracked.at, kind, url: tracked.url.clone(), referrer: tracked.referrer.clone(), properties }
    }

    /// Returns the plugin plan of a request on a plugin route with a form
    /// body Footprint can parse.
    fn plugin_plan(
        &self,
        method: &Method,
        path: &str,
        content_type: Option<&str>,
        encoding: Option<&FormEncoding>,
        query: &Fields,
    ) -> Option<PluginPlan> {
        let media_type = media_type(content_type?);
        let matched = self.plugin_routes.matching(method, path, &media_type);
        if matched.is_empty() {
            return None;
        }

        Some(PluginPlan {
            matched,
            encoding: encoding?.clone(),
            method: method.as_str().to_owned(),
            route: path.to_owned(),
            query: query.clone(),
            run: None,
        })
    }

    /// Starts the plugin call if the body prefix arrived only now, and
    /// queues each capture whose route's success condition the response
    /// matches, once the call ended. Waits in a spawned task, so the
    /// completion phase never blocks on a plugin.
    fn finish_plugins(&self, tracked: &Tracked, mut plugin: PluginPlan, body: Option<&Inspected>, rule_recorded: bool) {
        if let Some(body) = body {
            plugin.start(&self.plugin_routes, &self.plugins, body);
        }
        let accepted: Vec<usize> = plugin
            .matched
            .iter()
            .copied()
            .filter(|&index| self.plugin_routes.success(index).matches(&tracked.response))
            .collect();
        let Some(run) = plugin.run.filter(|_| !accepted.is_empty()) else {
            tracing::debug!(http.status = tracked.response.status, "form submission not accepted; nothing captured");
            return;
        };

        let routes = self.plugin_routes.clone();
        let recorder = self.recorder.clone();
        let browser = tracked.browser;
        let route = plugin.route;
        let at = tracked.at;
        // The form_submission activity is recorded once per request, and
        // only when no activity rule recorded this request already.
        let mut activity =
            (!rule_recorded).then(|| self.activity(tracked, ActivityKind::FormSubmission, BTreeMap::new()));

        let queue = async move {
            let results = match run.await {
                Ok(results) => results,
                Err(error) => {
                    tracing::warn!(%error, "plugin call task failed; nothing captured");
                    return;
                }
            };

            for (index, result) in results {
                if !accepted.contains(&index) {
                    continue;
                }
                // Faults were logged and counted by the plugin host.
                let Ok(capture) = result else {
                    continue;
                };
                if capture.is_empty() && activity.is_none() {
                    continue;
                }
                let name = routes.name(index).to_owned();
                let activity = activity.take().map(|mut activity| {
                    activity.properties.insert("plugin".to_owned(), name.clone());
                    activity
                });
                let accepted = AcceptedCapture { plugin: name, route: route.clone(), capture, at, activity };
                recorder.record(Event::Capture { browser, accepted: Box::new(accepted) });
            }
        };
        tokio::spawn(tracing::Instrument::in_current_span(queue));
    }
}

impl Hooks for Tracking {
    type Plan = Plan;

    fn on_request(&self, head: &mut request::Parts, peer: SocketAddr) -> (Plan, usize) {
        if let Some(personalisation) = &self.personalisation {
            personalisation.strip(&mut head.headers);
        }
        let path = head.uri.path();
        if let Some(skip) = self.filter.skip(&head.method, path, &head.headers) {
            metrics::counter!("footprint_tracking_skipped_total", "reason" => skip.as_str()).increment(1);
            return (Plan { tracked: None }, 0);
        }

        let (tracker, set_cookie) = match self.keys.read(&head.headers, &self.cookie_name) {
            Some(tracker) => {
                if let Some(personalisation) = &self.personalisation {
                    personalisation.add(tracker, &mut head.headers);
                }
                (tracker, None)
            }
            None => {
                let tracker = TrackerId::new();
                let cookie =
                    self.keys.set_cookie(&self.cookie_name, tracker, self.max_age_days, self.is_secure(head, peer));
                metrics::counter!("footprint_tracking_trackers_minted_total").increment(1);
                (tracker, HeaderValue::from_str(&cookie).ok())
            }
        };

        let candidates = self.rules.candidates(&head.method, path);
        let has_body = !matches!(head.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let mut inspect = if has_body && self.rules.needs_form(&candidates) { self.form_inspect_bytes } else { 0 };

        let url = head.uri.path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_else(|| path.to_owned());
        let query = head.uri.query().map(|q| Fields::from_urlencoded(q.as_bytes())).unwrap_or_default();
        let content_type = head.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());

        let encoding = if has_body { FormEncoding::from_content_type(content_type) } else { None };
        let plugin =
            if has_body { self.plugin_plan(&head.method, path, content_type, encoding.as_ref(), &query) } else { None };
        if let Some(plugin) = &plugin {
            inspect = inspect.max(self.plugin_routes.inspect_bytes(&plugin.matched));
        }
        let referrer = head.headers.get(http::header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_owned);

        let tracked = Tracked {
            browser: Browser { tracker, returned: set_cookie.is_none() },
            set_cookie,
            at: now_millis(),
            url,
            referrer,
            query,
            encoding,
            candidates,
            response: ResponseFacts::default(),
            header_email: None,
            plugin,
        };
        (Plan { tracked: Some(tracked) }, inspect)
    }

    fn on_request_body(&self, plan: &mut Plan, body: &Inspected) {
        if let Some(plugin) = plan.tracked.as_mut().and_then(|tracked| tracked.plugin.as_mut()) {
            plugin.start(&self.plugin_routes, &self.plugins, body);
        }
    }

    fn on_response(&self, plan: &mut Plan, head: &mut response::Parts) -> usize {
        // The identify header is the shop's message to Footprint: it never
        // reaches a browser, tracked or not.
        let header_email = self.identify_header.as_ref().and_then(|name| {
            let value = head.headers.remove(name)?;
            let text = value.to_str().ok()?;
            text.trim().strip_prefix("email=").map(|email| email.trim().to_owned())
        });

        let Some(tracked) = plan.tracked.as_mut() else {
            return 0;
        };
        if let Some(cookie) = &tracked.set_cookie {
            head.headers.append(http::header::SET_COOKIE, cookie.clone());
        }
        // The activity's time is when the shop responded, not when the
        // request arrived. A browser's next request only starts after this
        // response, so a browser's activities are queued, stored and dated in
        // the same order, even behind a slow login.
        tracked.at = now_millis();
        tracked.response = ResponseFacts::from_head(head.status, &head.headers);
        tracked.header_email = header_email;

        let success = (200..300).contains(&head.status.as_u16());
        if success && self.rules.needs_response_body(&tracked.candidates) {
            self.response_inspect_bytes
        } else {
            0
        }
    }

    fn on_complete(&self, plan: Plan, exchange: Exchange) {
        let Some(mut tracked) = plan.tracked else {
            return;
        };

        let mut fields = tracked.query.clone();
        // Plugins parse the body on their own, so it is parsed here only
        // for rules that read form fields.
        // NOTE: when both a plugin and a rule read one body, it is parsed
        // twice and a parse failure is counted twice.
        let body = exchange.request_body.as_ref().filter(|_| self.rules.needs_form(&tracked.candidates));
        if let (Some(body), Some(encoding)) = (body, tracked.encoding.as_ref()) {
            fields.extend(Fields::from_body_prefix_now(encoding, body.bytes.clone(), body.complete));
        }
        let response_text = exchange.response_body.as_ref().map(|body| String::from_utf8_lossy(&body.bytes));

        let selected =
            self.rules.select_activity(&tracked.candidates, &fields, &tracked.response, response_text.as_deref());
        let rule_recorded = selected.is_some();
        if let Some((rule, properties)) = selected {
            let activity = self.activity(&tracked, rule.kind, properties);
            self.recorder.record(Event::Activity { browser: tracked.browser, activity });
        }
        if let Some(plugin) = tracked.plugin.take() {
            self.finish_plugins(&tracked, plugin, exchange.request_body.as_ref(), rule_recorded);
        }

        if let Some((rule, email)) = self.rules.select_identify(&tracked.candidates, &fields, &tracked.response) {
            let activity = self.activity(&tracked, rule.kind, BTreeMap::new());
            self.recorder.record(Event::Identify { browser: tracked.browser, email, activity });
        }
        if let Some(email) = tracked.header_email.clone() {
            let properties = BTreeMap::from([("source".to_owned(), "header".to_owned())]);
            let activity = self.activity(&tracked, ActivityKind::Login, properties);
            self.recorder.record(Event::Identify { browser: tracked.browser, email, activity });
        }
    }
}

/// Returns true when the nearest front proxy reported HTTPS, through
/// `X-Forwarded-Proto` or the `proto` parameter of `Forwarded` (RFC 7239).
/// Only the last element counts, because the proxy next to Footprint added it.
fn forwarded_https(headers: &http::HeaderMap) -> bool {
    let last_element = |name: &str| {
        let value = headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).next_back()?;
        value.rsplit(',').next().map(|element| element.trim().to_ascii_lowercase())
    };

    let x_forwarded = last_element("x-forwarded-proto").is_some_and(|proto| proto == "https");
    let forwarded = last_element("forwarded")
        .is_some_and(|element| element.split(';').any(|pair| matches!(pair.trim(), "proto=https" | "proto=\"https\"")));
    x_forwarded || forwarded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(http::HeaderName::from_bytes(name.as_bytes()).expect("name"), value.parse().expect("value"));
        }
        map
    }

    #[test]
    fn https_is_read_from_either_forwarding_header() {
        assert!(forwarded_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(forwarded_https(&headers(&[("forwarded", "for=192.0.2.1;proto=https")])));
        assert!(forwarded_https(&headers(&[("forwarded", "for=192.0.2.9, for=192.0.2.1;proto=https;host=a")])));
        assert!(!forwarded_https(&headers(&[("x-forwarded-proto", "https, http")])));
        assert!(!forwarded_https(&headers(&[("forwarded", "proto=https, for=192.0.2.1;proto=http")])));
        assert!(!forwarded_https(&headers(&[])));
    }
}
