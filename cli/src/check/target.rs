//! The endpoint under check: its URL template, and the requests built from it.

use http::Uri;
use tower_livefyre::{UserId, url::PullUrlTemplate};

use super::probe::Probe;
use super::result::{Finding, Outcome};
use crate::error::CliError;

/// Stands for the token while a URL is built for showing; unreserved characters only, so the
/// library's encoding leaves it as is.
const TOKEN_MARK: &str = "LIVEFYRE-CHECK-TOKEN-MARK";

/// The endpoint: the template and where tokens go.
pub(super) struct Target {
    template: PullUrlTemplate,
    scheme_is_https: bool,
    host: String,
}

impl Target {
    /// The endpoint of `template`, already checked by the library's template rule (the one
    /// Livefyre's registration applies) when the command line was parsed.
    pub(super) fn new(template: &PullUrlTemplate) -> Result<Self, CliError> {
        let parsed = template.clone();
        let uri: Uri = parsed.expand(&UserId::SYSTEM).parse().map_err(|error| {
            CliError::Usage(format!(
                "URL_TEMPLATE {:?} is not a URL: {error}",
                template.as_str()
            ))
        })?;
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let (Some(scheme), Some(host)) = (scheme, uri.host()) else {
            return Err(CliError::Usage(format!(
                "URL_TEMPLATE {:?} must be an absolute http:// or https:// URL",
                template.as_str()
            )));
        };
        Ok(Self {
            template: parsed,
            scheme_is_https: scheme == "https",
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        })
    }

    /// The pull URL for `id` with `token` as `lftoken`, joined as Livefyre does (the
    /// library's rule), and the same URL with `<shown>` in place of the token. An empty
    /// token is shown as it was sent: `lftoken=`.
    fn with_token(&self, id: &UserId, token: &str, shown: &str) -> (String, String) {
        let url = self.template.expand_with_token(id, token);
        if token.is_empty() {
            return (url.clone(), url);
        }
        let shown_url = self
            .template
            .expand_with_token(id, TOKEN_MARK)
            .replace(TOKEN_MARK, &format!("<{shown}>"));
        (url, shown_url)
    }

    /// A GET for `id`, with `token` (and how to show it) as `lftoken`, or no `lftoken`.
    pub(super) fn probe(&self, id: &UserId, token: Option<(&str, &str)>) -> Probe {
        let (url, shown_url, tokens) = match token {
            None => {
                let url = self.template.expand(id);
                (url.clone(), url, Vec::new())
            }
            Some((token, shown)) => {
                let (url, shown_url) = self.with_token(id, token, shown);
                (url, shown_url, vec![token.to_owned()])
            }
        };
        Probe {
            url,
            shown_url,
            headers: Vec::new(),
            tokens,
        }
    }

    /// `lftoken` twice, the same valid token both times.
    pub(super) fn probe_duplicated(&self, id: &UserId, token: &str) -> Probe {
        let (url, shown_url) = self.with_token(id, token, "valid system token");
        Probe {
            url: format!("{url}&lftoken={token}"),
            shown_url: format!("{shown_url}&lftoken=<the same token>"),
            headers: Vec::new(),
            tokens: vec![token.to_owned()],
        }
    }

    /// The valid token in `Authorization: Bearer`, none in the query.
    pub(super) fn probe_header_only(&self, id: &UserId, token: &str) -> Probe {
        let url = self.template.expand(id);
        Probe {
            url: url.clone(),
            shown_url: url,
            headers: vec![(
                "authorization",
                format!("Bearer {token}"),
                "Bearer <valid system token>".to_owned(),
            )],
            tokens: vec![token.to_owned()],
        }
    }

    pub(super) fn transport(&self) -> Finding {
        if self.scheme_is_https {
            return Finding::new(Outcome::Pass, "https");
        }
        let loopback = self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            Finding::new(
                Outcome::Pass,
                "http on loopback (fine for testing; use https in production)",
            )
        } else {
            Finding::new(
                Outcome::Fail,
                format!(
                    "http:// to {}: the system token travels in the clear and anyone on the path \
                     can replay it until it expires",
                    self.host
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::catalog::CheckId;
    use crate::check::result::CheckResult;

    /// The template as the command line types it, then the target.
    fn target(template: &str) -> Result<Target, String> {
        let template: PullUrlTemplate = template.parse().map_err(|e| format!("{e}"))?;
        Target::new(&template).map_err(|error| error.to_string())
    }

    #[test]
    fn templates_must_be_absolute_http_urls_with_an_id() {
        for template in [
            "https://example.com/pull?id={id}",
            "http://127.0.0.1:3000/users/{id}/pull",
            "HTTP://[::1]:8080/p?id={id}",
        ] {
            assert!(target(template).is_ok(), "{template}");
        }
        for template in [
            "https://example.com/pull",
            "/pull?id={id}",
            "ftp://example.com/{id}",
            "www.example.com/user/{id}",
            "http://exa mple.com/{id}",
            // Issue 9, defects 3 and 4: the library's rule.
            "https://example.com/pull#{id}",
            "http://a:1:2/{id}",
        ] {
            assert!(target(template).is_err(), "{template}");
        }
    }

    #[test]
    fn tokens_are_appended_as_livefyre_does() {
        let ann = UserId::from_static("ann");
        let query = target("https://x.example/pull?id={id}").unwrap();
        assert_eq!(
            query.probe(&ann, Some(("T", "t"))).url,
            "https://x.example/pull?id=ann&lftoken=T"
        );
        let path = target("https://x.example/users/{id}/pull").unwrap();
        let probe = path.probe(&ann, Some(("T", "shown")));
        assert_eq!(probe.url, "https://x.example/users/ann/pull?lftoken=T");
        assert_eq!(
            probe.shown_url,
            "https://x.example/users/ann/pull?lftoken=<shown>"
        );
        // An empty token is shown as sent.
        let empty = query.probe(&ann, Some(("", "")));
        assert_eq!(empty.url, "https://x.example/pull?id=ann&lftoken=");
        assert_eq!(empty.shown_url, empty.url);
        assert_eq!(
            path.probe_duplicated(&ann, "T").url,
            "https://x.example/users/ann/pull?lftoken=T&lftoken=T"
        );
    }

    #[test]
    fn plain_http_is_a_finding_except_on_loopback() {
        let table = [
            ("https://example.com/{id}", Outcome::Pass),
            ("http://127.0.0.1:3000/{id}", Outcome::Pass),
            ("http://localhost/{id}", Outcome::Pass),
            ("http://[::1]/{id}", Outcome::Pass),
            ("http://example.com/{id}", Outcome::Fail),
            ("http://10.0.0.1/{id}", Outcome::Fail),
        ];
        for (template, outcome) in table {
            let finding = target(template).unwrap().transport();
            assert_eq!(finding.outcome, outcome, "{template}");
        }
        // transport/https is a SHOULD: its failure is a warning.
        let finding = target("http://example.com/{id}").unwrap().transport();
        let result = CheckResult::one(CheckId::TransportHttps, finding, Vec::new());
        assert_eq!(result.outcome, Outcome::Warn);
    }
}
