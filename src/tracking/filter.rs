//! Requests that are proxied but never tracked: static assets and bots.

use http::{HeaderMap, Method};
use regex::{Regex, RegexBuilder};

use crate::config::TrackerConfig;

/// Why a request is not tracked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    Static,
    Bot,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Static => "static",
            Skip::Bot => "bot",
        }
    }
}

/// Classifies requests as static assets or bots.
#[derive(Clone, Debug)]
pub struct Filter {
    /// One alternation of every configured user-agent pattern.
    bots: Option<Regex>,
    /// Lowercased path suffixes.
    extensions: Vec<String>,
    prefixes: Vec<String>,
}

impl Filter {
    /// Builds the filter; patterns were checked by configuration validation.
    pub fn new(config: &TrackerConfig) -> Result<Filter, regex::Error> {
        let bots = if config.bot_user_agents.is_empty() {
            None
        } else {
            let alternation: Vec<String> = config.bot_user_agents.iter().map(|p| format!("(?:{p})")).collect();
            Some(RegexBuilder::new(&alternation.join("|")).case_insensitive(true).build()?)
        };
        Ok(Filter {
            bots,
            extensions: config.static_extensions.iter().map(|e| e.to_ascii_lowercase()).collect(),
            prefixes: config.static_prefixes.clone(),
        })
    }

    /// Returns why the request should not be tracked, if it should not.
    /// Only GET and HEAD requests count as static assets: a POST to
    /// `/cart/add.js` is a shop action, whatever its extension.
    pub fn skip(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Skip> {
        let fetch = matches!(*method, Method::GET | Method::HEAD);
        if fetch && self.is_static(path) {
            return Some(Skip::Static);
        }

        let user_agent = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let is_bot = user_agent.trim().is_empty() || self.bots.as_ref().is_some_and(|bots| bots.is_match(user_agent));
        is_bot.then_some(Skip::Bot)
    }

    fn is_static(&self, path: &str) -> bool {
        if self.prefixes.iter().any(|prefix| path.starts_with(prefix.as_str())) {
            return true;
        }
        let last_segment = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
        self.extensions.iter().any(|extension| last_segment.ends_with(extension.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Filter {
        Filter::new(&TrackerConfig::default()).expect("default patterns compile")
    }

    fn with_agent(agent: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::USER_AGENT, agent.parse().expect("valid header"));
        headers
    }

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    #[test]
    fn browsers_are_tracked() {
        assert_eq!(filter().skip(&Method::GET, "/catalogue/", &with_agent(FIREFOX)), None);
    }

    #[test]
    fn crawlers_and_missing_agents_are_bots() {
        let filter = filter();
        for agent in ["Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "UptimeRobot/2.0", " "] {
            assert_eq!(filter.skip(&Method::GET, "/", &with_agent(agent)), Some(Skip::Bot), "{agent}");
        }
        assert_eq!(filter.skip(&Method::GET, "/", &HeaderMap::new()), Some(Skip::Bot));
    }

    #[test]
    fn static_assets_are_skipped_by_prefix_and_extension() {
        let filter = filter();
        let browser = with_agent(FIREFOX);
        for path in ["/static/oscar/css/styles.css", "/media/cache/x.jpg", "/app.JS", "/favicon.ico"] {
            assert_eq!(filter.skip(&Method::GET, path, &browser), Some(Skip::Static), "{path}");
        }
        assert_eq!(filter.skip(&Method::GET, "/catalogue/css-book_3/", &browser), None);
    }

    #[test]
    fn posts_to_asset_like_paths_are_tracked() {
        let browser = with_agent(FIREFOX);
        assert_eq!(filter().skip(&Method::POST, "/cart/add.js", &browser), None);
        assert_eq!(filter().skip(&Method::HEAD, "/app.js", &browser), Some(Skip::Static));
    }
}
