//! The endpoint under check: its URL template, and the requests built from it.

use http::Uri;
use tower_livefyre::{PullUrlTemplate, UserId};

use super::probe::Probe;
use super::result::{Finding, Outcome};
use crate::error::CliError;

/// The endpoint: the template and where tokens go.
pub(super) struct Target {
    template: String,
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
            template: template.to_owned(),
            scheme_is_https: scheme == "https",
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        })
    }

    /// The pull URL for `id`, before any token. Ids were checked to be `[A-Za-z0-9_.-]`,
    /// which needs no escaping anywhere in a URL.
    fn url(&self, id: &str) -> String {
        self.template.replace("{id}", id)
    }

    /// `url` with `lftoken=…` appended as Livefyre does: `&` when there is a query, else `?`.
    fn with_params(url: &str, params: &[&str]) -> String {
        let mut url = url.to_owned();
        for param in params {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(param);
        }
        url
    }

    /// A GET for `id`, with `token` (and how to show it) as `lftoken`, or no `lftoken`.
    pub(super) fn probe(&self, id: &str, token: Option<(&str, &str)>) -> Probe {
        let url = self.url(id);
        match token {
            None => Probe {
                url: url.clone(),
                shown_url: url,
                headers: Vec::new(),
                tokens: Vec::new(),
            },
            Some((token, shown)) => Probe {
                url: Self::with_params(&url, &[&format!("lftoken={token}")]),
                shown_url: Self::with_params(&url, &[&format!("lftoken=<{shown}>")]),
                headers: Vec::new(),
                tokens: vec![token.to_owned()],
            },
        }
    }

    pub(super) fn probe_duplicated(&self, id: &str, token: &str) -> Probe {
        let url = self.url(id);
        let param = format!("lftoken={token}");
        Probe {
            url: Self::with_params(&url, &[&param, &param]),
            shown_url: Self::with_params(
                &url,
                &["lftoken=<valid system token>", "lftoken=<the same token>"],
            ),
            headers: Vec::new(),
            tokens: vec![token.to_owned()],
        }
    }

    pub(super) fn probe_header_only(&self, id: &str, token: &str) -> Probe {
        let url = self.url(id);
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
        let query = Target::new("https://x.example/pull?id={id}").unwrap();
        assert_eq!(
            query.probe("ann", Some(("T", "t"))).url,
            "https://x.example/pull?id=ann&lftoken=T"
        );
        let path = Target::new("https://x.example/users/{id}/pull").unwrap();
        let probe = path.probe("ann", Some(("T", "shown")));
        assert_eq!(probe.url, "https://x.example/users/ann/pull?lftoken=T");
        assert_eq!(
            probe.shown_url,
            "https://x.example/users/ann/pull?lftoken=<shown>"
        );
        assert_eq!(
            path.probe_duplicated("ann", "T").url,
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
