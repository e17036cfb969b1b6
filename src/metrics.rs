//! Metrics (feature `metrics`): counters, gauges and histograms through the [`metrics`]
//! facade, for whichever exporter the app installs (Prometheus, StatsD, …).
//!
//! The crate only emits. Your app installs a recorder, such as
//! `metrics-exporter-prometheus`'s, once at start; with none installed every emission is a
//! no-op (an atomic load, no allocation). With the feature off no metrics code is compiled.
//! Call [`describe`] after installing the recorder to give each metric its unit and help
//! text.
//!
//! # The metrics
//!
//! Every name is a `pub const` of this module, so code and dashboards can refer to it by
//! constant. Labels take only the values listed: never a user id, a URL or a token.
//!
//! | name | kind | unit | labels | what |
//! |---|---|---|---|---|
//! | [`PULL_ANSWERS_TOTAL`] `livefyre_pull_answers_total` | counter | answers | `outcome`: `ok`, `not_found`, `bad_request`, `method_not_allowed`, `source_failed`, `timeout`, `invalid_profile`, `id_mismatch` | answers of [`PullService`](crate::PullService), by what it answered (a 403 of the gate in front is in [`LFTOKEN_REJECTIONS_TOTAL`]) |
//! | [`PULL_DURATION_SECONDS`] `livefyre_pull_duration_seconds` | histogram | seconds | — | from the pull reaching [`PullService`](crate::PullService) to its answer, source lookup included |
//! | [`LFTOKEN_ACCEPTED_TOTAL`] `livefyre_lftoken_accepted_total` | counter | tokens | `key`: `current`, `previous` | tokens [`LftokenLayer`](crate::LftokenLayer) let through, by the key that verified them: after a rotation, retire the previous key once `previous` stops growing |
//! | [`LFTOKEN_REJECTIONS_TOTAL`] `livefyre_lftoken_rejections_total` | counter | requests | `reason`: `missing`, `empty`, `duplicated`, `not_utf8`, `too_long`, `malformed`, `unsupported_algorithm`, `bad_signature`, `missing_claim`, `mistyped_claim`, `claim_out_of_range`, `wrong_domain`, `not_system_user`, `expired`, `invalid` | requests the gate refused (403), by [`LftokenRejection`](crate::LftokenRejection) |
//! | [`PING_ATTEMPTS_TOTAL`] `livefyre_ping_attempts_total` | counter | requests | `outcome`: `ok`, `forbidden`, `rate_limited`, `server_error`, `client_error`, `other_status`, `timeout`, `connect_failed`, `transport_failed` | each HTTP request of `PingClient` (pings and the pull URL registration; every retry counts) by Livefyre's answer: 2xx, 403, 429, 5xx, other 4xx, any other status, no answer in time, no connection, another client failure |
//! | [`PING_DURATION_SECONDS`] `livefyre_ping_duration_seconds` | histogram | seconds | — | each such request, from sending it to Livefyre's answer (or the failure) |
//! | [`OUTBOX_ROWS`] `livefyre_outbox_rows` | gauge | rows | `state`: `pending`, `in_flight`, `awaiting_pull`, `parked` | the outbox's rows by state, as [`OutboxStats`](crate::outbox::OutboxStats) counts them |
//! | [`OUTBOX_OLDEST_AGE_SECONDS`] `livefyre_outbox_oldest_age_seconds` | gauge | seconds | `state`: `pending`, `awaiting_pull` | age of the oldest pending row (since its first undelivered change) and of the oldest row awaiting its pull (since its ping was accepted); 0 when there is none |
//! | [`OUTBOX_OUTCOMES_TOTAL`] `livefyre_outbox_outcomes_total` | counter | rows | `outcome`: `delivered`, `awaiting_pull`, `confirmed`, `retry`, `parked`, `released` | what became of each row a relay attempted: delivered (ping accepted, no pull confirmation), awaiting its pull (accepted, with confirmation), retried later, parked, or released unattempted (its lease was half gone); `confirmed` when a pull confirmed a row |
//! | [`OUTBOX_DELIVERY_SECONDS`] `livefyre_outbox_delivery_seconds` | histogram | seconds | — | with pull confirmation, from a change's first undelivered enqueue to the pull that confirmed it: how long an edit takes to reach Livefyre |
//!
//! The two `livefyre_outbox_rows`-style gauges are set by
//! [`Outbox::record_metrics`](crate::outbox::Outbox::record_metrics), which a running
//! [`Relay`](crate::outbox::Relay) calls at most once a second, on its poll ticks; call it
//! yourself (from a `/metrics` handler, say) when no relay runs in the process.
//!
//! # Example
//!
//! ```
//! use tower_livefyre::metrics::{LFTOKEN_REJECTIONS_TOTAL, PULL_ANSWERS_TOTAL};
//!
//! assert_eq!(PULL_ANSWERS_TOTAL, "livefyre_pull_answers_total");
//! assert!(LFTOKEN_REJECTIONS_TOTAL.ends_with("_total"));
//! // After installing your exporter's recorder:
//! tower_livefyre::metrics::describe();
//! ```

use ::metrics::{Key, Label, Level, Metadata, Unit};

/// Counter: answers of [`PullService`](crate::PullService), label `outcome`.
pub const PULL_ANSWERS_TOTAL: &str = "livefyre_pull_answers_total";
/// Histogram, seconds: from a pull reaching [`PullService`](crate::PullService) to its answer.
pub const PULL_DURATION_SECONDS: &str = "livefyre_pull_duration_seconds";
/// Counter: tokens the gate accepted, label `key` (`current`, `previous`).
pub const LFTOKEN_ACCEPTED_TOTAL: &str = "livefyre_lftoken_accepted_total";
/// Counter: requests the gate refused, label `reason`.
pub const LFTOKEN_REJECTIONS_TOTAL: &str = "livefyre_lftoken_rejections_total";
/// Counter: HTTP requests of `PingClient`, label `outcome`.
pub const PING_ATTEMPTS_TOTAL: &str = "livefyre_ping_attempts_total";
/// Histogram, seconds: one HTTP request of `PingClient`, to Livefyre's answer.
pub const PING_DURATION_SECONDS: &str = "livefyre_ping_duration_seconds";
/// Gauge: the outbox's rows, label `state` (`pending`, `in_flight`, `awaiting_pull`, `parked`).
pub const OUTBOX_ROWS: &str = "livefyre_outbox_rows";
/// Gauge, seconds: age of the oldest row, label `state` (`pending`, `awaiting_pull`).
pub const OUTBOX_OLDEST_AGE_SECONDS: &str = "livefyre_outbox_oldest_age_seconds";
/// Counter: what became of the rows the relays attempted, label `outcome`.
pub const OUTBOX_OUTCOMES_TOTAL: &str = "livefyre_outbox_outcomes_total";
/// Histogram, seconds: from a change's enqueue to the pull that confirmed it.
pub const OUTBOX_DELIVERY_SECONDS: &str = "livefyre_outbox_delivery_seconds";

/// Gives every metric of the [table](self) its unit and help text in the installed
/// recorder (Prometheus prints them as `# HELP` lines). Call it once, after installing the
/// recorder; without one it does nothing.
///
/// # Example
///
/// ```
/// tower_livefyre::metrics::describe();
/// ```
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        PULL_ANSWERS_TOTAL,
        Unit::Count,
        "Livefyre pulls answered by the pull service, by outcome"
    );
    describe_histogram!(
        PULL_DURATION_SECONDS,
        Unit::Seconds,
        "Time from a Livefyre pull reaching the pull service to its answer"
    );
    describe_counter!(
        LFTOKEN_ACCEPTED_TOTAL,
        Unit::Count,
        "Livefyre tokens accepted by the lftoken gate, by the key that verified them"
    );
    describe_counter!(
        LFTOKEN_REJECTIONS_TOTAL,
        Unit::Count,
        "Requests refused by the lftoken gate (403), by reason"
    );
    describe_counter!(
        PING_ATTEMPTS_TOTAL,
        Unit::Count,
        "HTTP requests to Livefyre (pings, registration), by outcome"
    );
    describe_histogram!(
        PING_DURATION_SECONDS,
        Unit::Seconds,
        "Time from sending a request to Livefyre to its answer"
    );
    describe_gauge!(OUTBOX_ROWS, Unit::Count, "Outbox rows by state");
    describe_gauge!(
        OUTBOX_OLDEST_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest pending and of the oldest awaiting-pull outbox row"
    );
    describe_counter!(
        OUTBOX_OUTCOMES_TOTAL,
        Unit::Count,
        "Outcomes of the outbox rows the relays attempted, and pull confirmations"
    );
    describe_histogram!(
        OUTBOX_DELIVERY_SECONDS,
        Unit::Seconds,
        "Time from a change's enqueue to the pull that confirmed it"
    );
}

/// What every emission names as its origin (the macros' default, made once).
static METADATA: Metadata<'static> =
    Metadata::new("tower_livefyre", Level::INFO, Some(module_path!()));

/// A label set with fixed values: an enum, each variant with its label value and one key
/// built at compile time, so that emitting allocates nothing and hashes nothing.
macro_rules! label_set {
    (
        $(#[$meta:meta])*
        $name:ident for $metric:expr, $label:literal {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        $(#[$meta])*
        impl $name {
            /// Every value, for the tests.
            #[cfg(test)]
            const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The label value.
            #[cfg(test)]
            const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            /// The metric's key with this label value.
            fn key(self) -> &'static Key {
                match self {
                    $(Self::$variant => {
                        static LABELS: [Label; 1] = [Label::from_static_parts($label, $value)];
                        static KEY: Key = Key::from_static_parts($metric, &LABELS);
                        &KEY
                    })+
                }
            }
        }
    };
}

label_set! {
    /// `outcome` of [`PULL_ANSWERS_TOTAL`].
    PullOutcome for PULL_ANSWERS_TOTAL, "outcome" {
        Ok = "ok",
        NotFound = "not_found",
        BadRequest = "bad_request",
        MethodNotAllowed = "method_not_allowed",
        SourceFailed = "source_failed",
        Timeout = "timeout",
        InvalidProfile = "invalid_profile",
        IdMismatch = "id_mismatch",
    }
}

label_set! {
    /// `key` of [`LFTOKEN_ACCEPTED_TOTAL`].
    TokenKey for LFTOKEN_ACCEPTED_TOTAL, "key" {
        Current = "current",
        Previous = "previous",
    }
}

label_set! {
    /// `reason` of [`LFTOKEN_REJECTIONS_TOTAL`].
    RejectionReason for LFTOKEN_REJECTIONS_TOTAL, "reason" {
        Missing = "missing",
        Empty = "empty",
        Duplicated = "duplicated",
        NotUtf8 = "not_utf8",
        TooLong = "too_long",
        Malformed = "malformed",
        UnsupportedAlgorithm = "unsupported_algorithm",
        BadSignature = "bad_signature",
        MissingClaim = "missing_claim",
        MistypedClaim = "mistyped_claim",
        ClaimOutOfRange = "claim_out_of_range",
        WrongDomain = "wrong_domain",
        NotSystemUser = "not_system_user",
        Expired = "expired",
        /// A token error validation does not produce (signing, display name).
        Invalid = "invalid",
    }
}

label_set! {
    /// `outcome` of [`PING_ATTEMPTS_TOTAL`].
    #[cfg(feature = "ping")]
    PingOutcome for PING_ATTEMPTS_TOTAL, "outcome" {
        Ok = "ok",
        Forbidden = "forbidden",
        RateLimited = "rate_limited",
        ServerError = "server_error",
        ClientError = "client_error",
        OtherStatus = "other_status",
        Timeout = "timeout",
        ConnectFailed = "connect_failed",
        TransportFailed = "transport_failed",
    }
}

label_set! {
    /// `outcome` of [`OUTBOX_OUTCOMES_TOTAL`].
    #[cfg(feature = "outbox")]
    OutboxOutcome for OUTBOX_OUTCOMES_TOTAL, "outcome" {
        Delivered = "delivered",
        AwaitingPull = "awaiting_pull",
        Confirmed = "confirmed",
        Retry = "retry",
        Parked = "parked",
        Released = "released",
    }
}

fn increment(key: &'static Key) {
    ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

fn record_seconds(key: &'static Key, seconds: f64) {
    ::metrics::with_recorder(|recorder| {
        recorder.register_histogram(key, &METADATA).record(seconds)
    });
}

/// Counts one answer of the pull service and records how long it took.
pub(crate) fn pull_answered(outcome: PullOutcome, started: std::time::Instant) {
    static DURATION: Key = Key::from_static_name(PULL_DURATION_SECONDS);
    increment(outcome.key());
    record_seconds(&DURATION, started.elapsed().as_secs_f64());
}

/// Counts a token the gate accepted.
pub(crate) fn lftoken_accepted(key: TokenKey) {
    increment(key.key());
}

/// Counts a request the gate refused.
pub(crate) fn lftoken_rejected(reason: RejectionReason) {
    increment(reason.key());
}

/// Counts one HTTP request to Livefyre and records how long it took.
#[cfg(feature = "ping")]
pub(crate) fn ping_attempted(outcome: PingOutcome, elapsed: std::time::Duration) {
    static DURATION: Key = Key::from_static_name(PING_DURATION_SECONDS);
    increment(outcome.key());
    record_seconds(&DURATION, elapsed.as_secs_f64());
}

/// Counts what became of an outbox row.
#[cfg(feature = "outbox")]
pub(crate) fn outbox_outcome(outcome: OutboxOutcome) {
    increment(outcome.key());
}

/// Records a confirmed delivery, `since_enqueue` after the change.
#[cfg(feature = "outbox")]
pub(crate) fn outbox_confirmed(since_enqueue: std::time::Duration) {
    static DURATION: Key = Key::from_static_name(OUTBOX_DELIVERY_SECONDS);
    increment(OutboxOutcome::Confirmed.key());
    record_seconds(&DURATION, since_enqueue.as_secs_f64());
}

/// Sets the outbox gauges from a snapshot's numbers: rows by state, and the age of the
/// oldest pending and awaiting-pull row. Plain numbers, so this table of names depends on
/// nothing above it; the `state` label values are the table's.
#[cfg(feature = "outbox")]
pub(crate) fn outbox_gauges(
    [pending, in_flight, awaiting_pull, parked]: [u64; 4],
    [oldest_pending, oldest_awaiting_pull]: [Option<std::time::Duration>; 2],
) {
    use ::metrics::gauge;
    let age = |age: Option<std::time::Duration>| age.unwrap_or_default().as_secs_f64();
    // Precision loss past 2^53 rows is of no concern.
    #[allow(clippy::cast_precision_loss)]
    let rows = |n: u64| n as f64;
    gauge!(OUTBOX_ROWS, "state" => "pending").set(rows(pending));
    gauge!(OUTBOX_ROWS, "state" => "in_flight").set(rows(in_flight));
    gauge!(OUTBOX_ROWS, "state" => "awaiting_pull").set(rows(awaiting_pull));
    gauge!(OUTBOX_ROWS, "state" => "parked").set(rows(parked));
    gauge!(OUTBOX_OLDEST_AGE_SECONDS, "state" => "pending").set(age(oldest_pending));
    gauge!(OUTBOX_OLDEST_AGE_SECONDS, "state" => "awaiting_pull").set(age(oldest_awaiting_pull));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key names its metric and carries one label with its variant's value.
    fn check<T: Copy>(
        all: &[T],
        metric: &str,
        label: &str,
        key: fn(T) -> &'static Key,
        value: fn(T) -> &'static str,
    ) {
        let mut seen = Vec::new();
        for &variant in all {
            let key = key(variant);
            assert_eq!(key.name(), metric);
            let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
            assert_eq!(labels, [(label, value(variant))]);
            assert!(
                value(variant)
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
            assert!(
                !seen.contains(&value(variant)),
                "{metric}: {} twice",
                value(variant)
            );
            seen.push(value(variant));
        }
    }

    #[test]
    fn every_label_value_has_its_own_key() {
        check(
            PullOutcome::ALL,
            PULL_ANSWERS_TOTAL,
            "outcome",
            PullOutcome::key,
            PullOutcome::as_str,
        );
        check(
            TokenKey::ALL,
            LFTOKEN_ACCEPTED_TOTAL,
            "key",
            TokenKey::key,
            TokenKey::as_str,
        );
        check(
            RejectionReason::ALL,
            LFTOKEN_REJECTIONS_TOTAL,
            "reason",
            RejectionReason::key,
            RejectionReason::as_str,
        );
        #[cfg(feature = "ping")]
        check(
            PingOutcome::ALL,
            PING_ATTEMPTS_TOTAL,
            "outcome",
            PingOutcome::key,
            PingOutcome::as_str,
        );
        #[cfg(feature = "outbox")]
        check(
            OutboxOutcome::ALL,
            OUTBOX_OUTCOMES_TOTAL,
            "outcome",
            OutboxOutcome::key,
            OutboxOutcome::as_str,
        );
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        let counters = [
            PULL_ANSWERS_TOTAL,
            LFTOKEN_ACCEPTED_TOTAL,
            LFTOKEN_REJECTIONS_TOTAL,
            PING_ATTEMPTS_TOTAL,
            OUTBOX_OUTCOMES_TOTAL,
        ];
        let seconds = [
            PULL_DURATION_SECONDS,
            PING_DURATION_SECONDS,
            OUTBOX_OLDEST_AGE_SECONDS,
            OUTBOX_DELIVERY_SECONDS,
        ];
        for name in counters.iter().chain(&seconds).chain(&[OUTBOX_ROWS]) {
            assert!(name.starts_with("livefyre_"), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
        assert!(counters.iter().all(|name| name.ends_with("_total")));
        assert!(seconds.iter().all(|name| name.ends_with("_seconds")));
    }
}
