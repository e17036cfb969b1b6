//! The JSON form of a [`FaultPlan`], as `POST /_emulator/faults` takes it: an array of
//! steps such as `{"fault": "unavailable", "retry_after": 2, "pings": 3}`.

use std::time::Duration;

use serde::Deserialize;

use super::{FaultLimit, FaultPlan, PingFault};

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Unavailable,
    TooManyRequests,
    Forbidden,
    Slow,
    Drop,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    fault: Kind,
    retry_after: Option<u64>,
    delay_ms: Option<u64>,
    pings: Option<u64>,
    for_ms: Option<u64>,
}

/// Reads a plan; the error is a sentence for the 400 body.
pub(super) fn parse_plan(body: &[u8]) -> Result<FaultPlan, String> {
    let steps: Vec<Step> = serde_json::from_slice(body).map_err(|error| {
        format!("expected a JSON array of steps like {{\"fault\": \"unavailable\", \"pings\": 3}}: {error}")
    })?;
    steps
        .into_iter()
        .enumerate()
        .try_fold(FaultPlan::new(), |plan, (index, step)| {
            let (fault, limit) = step
                .typed()
                .map_err(|problem| format!("step {index}: {problem}"))?;
            Ok(plan.then(fault, limit))
        })
}

impl Step {
    fn typed(self) -> Result<(PingFault, FaultLimit), &'static str> {
        let retry_after = self.retry_after;
        let fault = match self.fault {
            Kind::Unavailable => PingFault::Unavailable { retry_after },
            Kind::TooManyRequests => PingFault::TooManyRequests { retry_after },
            Kind::Forbidden | Kind::Slow | Kind::Drop if retry_after.is_some() => {
                return Err("retry_after goes only with unavailable or too_many_requests");
            }
            Kind::Forbidden => PingFault::Forbidden,
            Kind::Slow => {
                let delay = self.delay_ms.ok_or("a slow fault needs delay_ms")?;
                PingFault::Slow {
                    delay: Duration::from_millis(delay),
                }
            }
            Kind::Drop => PingFault::Drop,
        };
        if self.delay_ms.is_some() && !matches!(fault, PingFault::Slow { .. }) {
            return Err("delay_ms goes only with a slow fault");
        }
        let limit = match (self.pings, self.for_ms) {
            (Some(_), Some(_)) => return Err("give pings or for_ms, not both"),
            (Some(pings), None) => FaultLimit::Pings(pings),
            (None, Some(window)) => FaultLimit::For(Duration::from_millis(window)),
            (None, None) => FaultLimit::UntilCleared,
        };
        Ok((fault, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_into_their_typed_steps() {
        let plan = parse_plan(
            br#"[
                {"fault": "unavailable", "for_ms": 10000},
                {"fault": "unavailable", "retry_after": 2, "pings": 3},
                {"fault": "too_many_requests"},
                {"fault": "forbidden", "pings": 1},
                {"fault": "slow", "delay_ms": 250, "pings": 2},
                {"fault": "drop", "for_ms": 18446744073709551615}
            ]"#,
        )
        .unwrap();
        let expected = FaultPlan::new()
            .then(
                PingFault::Unavailable { retry_after: None },
                FaultLimit::For(Duration::from_secs(10)),
            )
            .then(
                PingFault::Unavailable {
                    retry_after: Some(2),
                },
                FaultLimit::Pings(3),
            )
            .then(
                PingFault::TooManyRequests { retry_after: None },
                FaultLimit::UntilCleared,
            )
            .then(PingFault::Forbidden, FaultLimit::Pings(1))
            .then(
                PingFault::Slow {
                    delay: Duration::from_millis(250),
                },
                FaultLimit::Pings(2),
            )
            .then(
                PingFault::Drop,
                FaultLimit::For(Duration::from_millis(u64::MAX)),
            );
        assert_eq!(plan, expected);
        assert_eq!(parse_plan(b"[]").unwrap(), FaultPlan::new());
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "JSON array"),
            ("{}", "JSON array"),
            (r#"[{"fault": "outage"}]"#, "unknown variant"),
            (r#"[{"pings": 1}]"#, "missing field `fault`"),
            (r#"[{"fault": "drop", "pingz": 1}]"#, "unknown field"),
            (r#"[{"fault": "drop", "pings": -1}]"#, "JSON array"),
            (
                r#"[{"fault": "slow"}]"#,
                "step 0: a slow fault needs delay_ms",
            ),
            (
                r#"[{"fault": "drop"}, {"fault": "drop", "delay_ms": 5}]"#,
                "step 1: delay_ms",
            ),
            (
                r#"[{"fault": "forbidden", "retry_after": 1}]"#,
                "retry_after goes only",
            ),
            (
                r#"[{"fault": "drop", "pings": 1, "for_ms": 1}]"#,
                "not both",
            ),
        ];
        for (body, expected) in cases {
            let refused = parse_plan(body.as_bytes()).unwrap_err();
            assert!(refused.contains(expected), "{body}: {refused}");
        }
    }
}
