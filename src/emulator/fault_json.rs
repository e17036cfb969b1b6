//! The JSON form of a [`FaultPlan`], as `POST /_emulator/faults` takes it: an array of
//! steps such as `{"fault": "unavailable", "retry_after": 2, "pings": 3}`.

use std::time::Duration;

use serde::Deserialize;

use super::{FaultLimit, FaultPlan, PingFault};

/// The `fault` names, as the JSON form spells them.
const KINDS: &str = "unavailable, too_many_requests, forbidden, slow, drop, no_pull, late_pull";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// Read as a string, so an unknown kind gets a sentence that lists the known ones.
    fault: String,
    retry_after: Option<u64>,
    delay_ms: Option<u64>,
    pings: Option<u64>,
    for_ms: Option<u64>,
}

/// Reads a plan; the error is a sentence for the 400 body, naming the step at fault.
pub(super) fn parse_plan(body: &[u8]) -> Result<FaultPlan, String> {
    let steps: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|error| {
        format!("expected a JSON array of steps like {{\"fault\": \"unavailable\", \"pings\": 3}}: {error}")
    })?;
    steps
        .into_iter()
        .enumerate()
        .try_fold(FaultPlan::new(), |plan, (index, step)| {
            let (fault, limit) = Step::deserialize(step)
                .map_err(|error| error.to_string())
                .and_then(Step::typed)
                .map_err(|problem| format!("step {index}: {problem}"))?;
            Ok(plan.then(fault, limit))
        })
}

impl Step {
    fn typed(self) -> Result<(PingFault, FaultLimit), String> {
        let retry_after = self.retry_after;
        let delay = self.delay_ms.map(Duration::from_millis);
        let fault = match self.fault.as_str() {
            "unavailable" => PingFault::Unavailable { retry_after },
            "too_many_requests" => PingFault::TooManyRequests { retry_after },
            "forbidden" => PingFault::Forbidden,
            "slow" => PingFault::Slow {
                delay: delay.ok_or("a slow fault needs delay_ms")?,
            },
            "drop" => PingFault::Drop,
            "no_pull" => PingFault::NoPull,
            "late_pull" => PingFault::LatePull {
                delay: delay.ok_or("a late_pull fault needs delay_ms")?,
            },
            unknown => return Err(format!("unknown fault {unknown:?}; the faults are {KINDS}")),
        };
        if retry_after.is_some() && fault.retry_after().is_none() {
            return Err("retry_after goes only with unavailable or too_many_requests".into());
        }
        let delayed = matches!(fault, PingFault::Slow { .. } | PingFault::LatePull { .. });
        if delay.is_some() && !delayed {
            return Err("delay_ms goes only with slow or late_pull".into());
        }
        let limit = match (self.pings, self.for_ms) {
            (Some(_), Some(_)) => return Err("give pings or for_ms, not both".into()),
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
                {"fault": "drop", "for_ms": 18446744073709551615},
                {"fault": "no_pull", "pings": 1},
                {"fault": "late_pull", "delay_ms": 300, "for_ms": 2000}
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
            )
            .then(PingFault::NoPull, FaultLimit::Pings(1))
            .then(
                PingFault::LatePull {
                    delay: Duration::from_millis(300),
                },
                FaultLimit::For(Duration::from_secs(2)),
            );
        assert_eq!(plan, expected);
        assert_eq!(parse_plan(b"[]").unwrap(), FaultPlan::new());
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "JSON array"),
            ("{}", "JSON array"),
            ("[1]", "step 0: invalid type"),
            (
                r#"[{"fault": "outage"}]"#,
                r#"step 0: unknown fault "outage"; the faults are unavailable, too_many_requests, forbidden, slow, drop, no_pull, late_pull"#,
            ),
            (r#"[{"fault": 5}]"#, "step 0: invalid type"),
            (r#"[{"pings": 1}]"#, "step 0: missing field `fault`"),
            (
                r#"[{"fault": "drop", "pingz": 1}]"#,
                "step 0: unknown field",
            ),
            (
                r#"[{"fault": "drop", "pings": -1}]"#,
                "step 0: invalid value",
            ),
            (
                r#"[{"fault": "no_pull"}, {"fault": "late_pull", "pings": 1}]"#,
                "step 1: a late_pull fault needs delay_ms",
            ),
            (
                r#"[{"fault": "no_pull", "delay_ms": 5}]"#,
                "step 0: delay_ms goes only with slow or late_pull",
            ),
            (
                r#"[{"fault": "late_pull", "delay_ms": 5, "retry_after": 1}]"#,
                "retry_after goes only",
            ),
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
