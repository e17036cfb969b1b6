//! The endpoint under check: its URL template, and the requests built from it.

use http::Uri;
use tower_livefyre::{PullUrlTemplate, UserId};

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
    pub(super) fn new(template: &str) -> Result<Self, CliError> {
        // The library's template rule, the one Livefyre's registration applies.
        let parsed = PullUrlTemplate::parse(template)
            .map_err(|error| CliError::Usage(format!("URL_TEMPLATE {template:?}: {error}")))?;
        let uri: Uri = parsed.expand(&UserId::SYSTEM).parse().map_err(|error| {
            CliError::Usage(format!("URL_TEMPLATE {template:?} is not a URL: {error}"))
        })?;
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let (Some(scheme), Some(host)) = (scheme, uri.host()) else {
            return Err(CliError::Usage(format!(
                "URL_TEMPLATE {template:?} must be an absolute http:// or https:// URL"
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
    /// library's rule), and the same URL with `shown` in place of the token.
    fn with_token(&self, id: &UserId, token: &str, shown: &str) -> (String, String) {
        let url = self.template.expand_with_token(id, token);
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
    use crate::check::catalog::TRANSPORT_HTTPS;
    use crate::check::result::CheckResult;

    #[test]
    fn templates_must_be_absolute_http_urls_with_an_id() {
        for template in [
            "https://example.com/pull?id={id}",
            "http://127.0.0.1:3000/users/{id}/pull",
            "HTTP://[::1]:8080/p?id={id}",
        ] {
            assert!(Target::new(template).is_ok(), "{template}");
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
            assert!(
                matches!(Target::new(template), Err(CliError::Usage(_))),
                "{template}"
            );
        }
    }

    #[test]
    fn tokens_are_appended_as_livefyre_does() {
        let ann = UserId::from_static("ann");
        let query = Target::new("https://x.example/pull?id={id}").unwrap();
        assert_eq!(
            query.probe(&ann, Some(("T", "t"))).url,
            "https://x.example/pull?id=ann&lftoken=T"
        );
        let path = Target::new("https://x.example/users/{id}/pull").unwrap();
        let probe = path.probe(&ann, Some(("T", "shown")));
        assert_eq!(probe.url, "https://x.example/users/ann/pull?lftoken=T");
        assert_eq!(
            probe.shown_url,
            "https://x.example/users/ann/pull?lftoken=<shown>"
        );
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
            let finding = Target::new(template).unwrap().transport();
            assert_eq!(finding.outcome, outcome, "{template}");
        }
        // transport/https is a SHOULD: its failure is a warning.
        let finding = Target::new("http://example.com/{id}").unwrap().transport();
        let result = CheckResult::one(&TRANSPORT_HTTPS, finding, Vec::new());
        assert_eq!(result.outcome, Outcome::Warn);
    }
}
