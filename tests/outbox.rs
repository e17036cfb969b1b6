//! The outbox through its public API, on SQLite always and on Postgres when there is one
//! (see `pg.rs`): each scenario is written once, generic over the backend. Also its admin page
//! (`admin`), and, with the `metrics` feature, the metrics of pulls, pings and outbox
//! deliveries (`metrics`).

mod common;

// The modules live in `outbox/`, beside this file: a binary root here (not `outbox/main.rs`)
// finds `common/` without a `#[path]`.
mod outbox {

    mod admin;
    mod confirm;
    mod durable;
    #[cfg(feature = "metrics")]
    mod metrics;
    mod outage;

    use crate::common::scratch::Scratch;
    use crate::common::{pg, sink};

    use std::collections::HashMap;
    use std::convert::Infallible;
    use std::future::Future;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use confirm::*;
    use sink::{Answer, Sink};
    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::{Any, AnyPool, Sqlite};
    use tokio::sync::{Notify, oneshot};
    use tower_livefyre::emulator::Emulator;
    use tower_livefyre::outbox::{Backend, Outbox, OutboxError, ParkKind, Relay};
    use tower_livefyre::{
        Network, PingClient, Profile, UserId, pull_endpoint, source::profile_source_fn,
    };

    fn network() -> Network {
        Network::new("labs.fyre.co", "labs-network-key-for-tests").unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn client(url: &str) -> PingClient {
        PingClient::new(network()).unwrap().base_url(url).unwrap()
    }

    /// A SQLite database file in a fresh directory, removed on drop.
    struct SqliteFile(Scratch);

    impl SqliteFile {
        fn new() -> Self {
            Self(Scratch::new("outbox"))
        }

        fn url(&self) -> String {
            self.0.sqlite_url("app.db")
        }

        async fn outbox(&self) -> Outbox<Sqlite> {
            let pool = SqlitePoolOptions::new().connect(&self.url()).await.unwrap();
            let outbox = Outbox::new(pool);
            outbox.migrate().await.unwrap();
            outbox
        }
    }

    /// A relay running in a task.
    struct Running {
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<Result<(), OutboxError>>,
    }

    fn start<DB: Backend>(relay: Relay<DB>) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.run(async move {
            let _ = stopped.await;
        }));
        Running { stop, task }
    }

    impl Running {
        /// Graceful shutdown.
        async fn stop(self) {
            let _ = self.stop.send(());
            self.task.await.unwrap().unwrap();
        }

        /// A crash: the task is gone, nothing released.
        async fn kill(self) {
            self.task.abort();
            let _ = self.task.await;
        }
    }

    fn id(text: &str) -> UserId {
        text.parse().unwrap()
    }

    async fn enqueue<DB: Backend>(outbox: &Outbox<DB>, user_id: &str) {
        let mut tx = outbox.pool().begin().await.unwrap();
        outbox.enqueue(&mut tx, &id(user_id)).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// Polls `check` until it holds (30 s at most).
    async fn until<F, Fut>(what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(ms(20)).await;
        }
    }

    async fn drained<DB: Backend>(outbox: &Outbox<DB>) {
        until("an empty outbox", || async {
            outbox.stats().await.unwrap().is_empty()
        })
        .await;
    }

    // ---- the scenarios ----

    async fn rollback_means_no_ping_commit_means_a_ping<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        let relay = start(outbox.relay(client(&sink.url)).poll_interval(ms(50)));

        let mut tx = outbox.pool().begin().await.unwrap();
        outbox.enqueue(&mut tx, &id("rolled.back")).await.unwrap();
        tx.rollback().await.unwrap();
        enqueue(&outbox, "committed").await;

        sink.wait("the committed ping", |r| r.answered_ok("committed") == 1)
            .await;
        drained(&outbox).await;
        relay.stop().await;
        assert_eq!(sink.read(|r| r.count("rolled.back")), 0);
        assert_eq!(sink.read(|r| r.arrived.len()), 1);
    }

    async fn hundred_enqueues_give_few_pings_and_the_last_state<DB: Backend>(outbox: Outbox<DB>) {
        // The app's profiles, read by its pull endpoint, which the emulator pulls.
        let profiles = Arc::new(Mutex::new(HashMap::<String, Profile>::new()));
        let source = {
            let profiles = profiles.clone();
            profile_source_fn(move |id: UserId| {
                let profile = profiles.lock().unwrap().get(id.as_str()).cloned();
                async move { Ok::<_, Infallible>(profile) }
            })
        };
        let app =
            axum::Router::new().route_service("/livefyre/pull", pull_endpoint(network(), source));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app_addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let emulator = Emulator::start(network()).await.unwrap();
        emulator.set_pull_url_template(
            format!("http://{app_addr}/livefyre/pull?id={{id}}")
                .parse()
                .unwrap(),
        );

        let relay = start(outbox.relay(client(&emulator.url())).poll_interval(ms(50)));
        for i in 0..100 {
            let profile = Profile::new("ann.lee".parse().unwrap(), format!("Ann v{i}"));
            profiles.lock().unwrap().insert("ann.lee".into(), profile);
            enqueue(&outbox, "ann.lee").await;
        }
        until("the last state at Livefyre", || async {
            let stored = emulator.remote_profile(&"ann.lee".parse().unwrap());
            stored.is_some_and(|p| p.display_name == "Ann v99")
        })
        .await;
        drained(&outbox).await;
        relay.stop().await;
        let pulls = emulator.pull_log().len();
        eprintln!("100 enqueues of one user: {pulls} pulls");
        assert!((1..=20).contains(&pulls), "{pulls} pulls for 100 enqueues");
        server.abort();
    }

    async fn enqueue_during_an_in_flight_ping_is_delivered_after<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        let release = Arc::new(Notify::new());
        sink.script("ann.lee", [Answer::Hold(release.clone())]);
        let relay = start(outbox.relay(client(&sink.url)).poll_interval(ms(50)));

        enqueue(&outbox, "ann.lee").await;
        sink.wait("the first ping", |r| r.count("ann.lee") == 1)
            .await;
        // Changed again while the first ping is in flight: the delete must not take it.
        enqueue(&outbox, "ann.lee").await;
        release.notify_one();

        sink.wait("a second ping", |r| r.answered_ok("ann.lee") == 2)
            .await;
        drained(&outbox).await;
        relay.stop().await;
        assert_eq!(sink.read(|r| (r.count("ann.lee"), r.overlaps)), (2, 0));
    }

    async fn permanent_failure_parks_and_requeue_delivers<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        sink.script("ann.lee", [Answer::Status(403)]);
        sink.script("bob", [Answer::Status(404)]);
        let relay = start(outbox.relay(client(&sink.url)).poll_interval(ms(50)));
        enqueue(&outbox, "ann.lee").await;
        enqueue(&outbox, "bob").await;

        until("two parked rows", || async {
            outbox.stats().await.unwrap().parked == 2
        })
        .await;
        let stats = outbox.stats().await.unwrap();
        assert_eq!((stats.pending, stats.max_attempts), (0, 1));
        let parked = outbox.parked(10).await.unwrap();
        let reasons: HashMap<_, _> = parked
            .iter()
            .map(|p| (p.user_id.as_str(), (p.attempts, p.reason.as_str())))
            .collect();
        assert!(reasons["ann.lee"].1.contains("403 Forbidden"), "{parked:?}");
        assert!(reasons["bob"].1.contains("404"), "{parked:?}");
        assert_eq!((reasons["ann.lee"].0, reasons["bob"].0), (1, 1));

        assert!(
            parked.iter().all(|p| p.kind == ParkKind::Refused),
            "{parked:?}"
        );

        // A new change to a parked row makes it due again: bob is pinged and delivered. A
        // requeue sends ann's; nothing else is parked then.
        enqueue(&outbox, "bob").await;
        sink.wait("bob delivered after his new change", |r| {
            r.answered_ok("bob") == 1
        })
        .await;
        assert!(outbox.requeue(&id("ann.lee")).await.unwrap());
        assert!(!outbox.requeue(&id("carla")).await.unwrap());
        sink.wait("ann.lee delivered", |r| r.answered_ok("ann.lee") == 1)
            .await;
        drained(&outbox).await;
        assert_eq!(outbox.requeue_all().await.unwrap(), 0);
        relay.stop().await;
        assert_eq!(sink.read(|r| (r.count("ann.lee"), r.count("bob"))), (2, 2));
    }

    async fn expired_lease_is_reclaimed<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        let never = Arc::new(Notify::new());
        sink.script("ann.lee", [Answer::Hold(never)]);
        let slow = client(&sink.url).request_timeout(Duration::from_secs(3600));
        let crashed = start(outbox.relay(slow).lease(ms(300)));
        enqueue(&outbox, "ann.lee").await;
        sink.wait("the first ping", |r| r.count("ann.lee") == 1)
            .await;
        crashed.kill().await;
        assert_eq!(outbox.stats().await.unwrap().undelivered(), 1);

        let relay = start(outbox.relay(client(&sink.url)).poll_interval(ms(50)));
        sink.wait("the reclaimed ping", |r| r.answered_ok("ann.lee") == 1)
            .await;
        drained(&outbox).await;
        relay.stop().await;
        assert_eq!(sink.read(|r| (r.count("ann.lee"), r.overlaps)), (2, 0));
    }

    async fn retryable_failures_back_off_and_deliver<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        // 409 is the emulator's "no pull URL registered yet": retried, never parked.
        let failures = [503, 409, 429, 500].map(Answer::Status);
        sink.script("ann.lee", failures);
        sink.script("ann.lee", [Answer::RetryAfter(0)]);
        let relay = outbox
            .relay(client(&sink.url))
            .poll_interval(ms(20))
            .backoff(ms(5), ms(40));
        let relay = start(relay);
        enqueue(&outbox, "ann.lee").await;
        sink.wait("delivery", |r| r.answered_ok("ann.lee") == 1)
            .await;
        drained(&outbox).await;
        relay.stop().await;
        assert_eq!(sink.read(|r| r.count("ann.lee")), 6);
        assert_eq!(outbox.stats().await.unwrap().max_attempts, 0);
    }

    async fn shutdown_releases_what_is_in_flight<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        let never = Arc::new(Notify::new());
        sink.script("ann.lee", [Answer::Hold(never)]);
        let relay = start(outbox.relay(client(&sink.url)).shutdown_grace(ms(50)));
        enqueue(&outbox, "ann.lee").await;
        sink.wait("the held ping", |r| r.count("ann.lee") == 1)
            .await;
        relay.stop().await;
        let stats = outbox.stats().await.unwrap();
        assert_eq!((stats.pending, stats.in_flight, stats.parked), (1, 0, 0));

        // Released, not leased: the next relay takes it at once (its lease is a minute).
        let relay = start(outbox.relay(client(&sink.url)));
        sink.wait("the second ping", |r| r.answered_ok("ann.lee") == 1)
            .await;
        drained(&outbox).await;
        relay.stop().await;
    }

    async fn an_enqueue_wakes_the_relay_at_once<DB: Backend>(outbox: Outbox<DB>) {
        let sink = Sink::start().await;
        // A held ping shows that the relay made its first claim, and keeps it from claiming
        // again on a completion; with no poll for an hour, only a wake can deliver `ann.lee`.
        let release = Arc::new(Notify::new());
        sink.script("held", [Answer::Hold(release.clone())]);
        enqueue(&outbox, "held").await;
        let patient = client(&sink.url).request_timeout(Duration::from_secs(3600));
        let relay = outbox
            .relay(patient)
            .poll_interval(Duration::from_secs(3600));
        let relay = start(relay);
        sink.wait("the held ping", |r| r.count("held") == 1).await;
        enqueue(&outbox, "ann.lee").await;
        sink.wait("the woken ping", |r| r.answered_ok("ann.lee") == 1)
            .await;
        release.notify_one();
        drained(&outbox).await;
        relay.stop().await;
    }

    async fn a_row_queued_for_half_its_lease_is_given_back_not_pinged<DB: Backend>(
        outbox: Outbox<DB>,
    ) {
        // One relay holds all five rows and pings them one at a time, 600 ms each, under a
        // 2 s lease. Pinging the third at 1.2 s and the fourth at 1.8 s would overrun their
        // leases while a second relay reclaims them: pinged twice, overlapping. Past half the
        // lease, the first relay gives them back instead, and each user is pinged once.
        let sink = Sink::start().await;
        let users = ["u0", "u1", "u2", "u3", "u4"];
        let mut tx = outbox.pool().begin().await.unwrap();
        for user in users {
            sink.script(user, [Answer::Delay(ms(600))]);
            outbox.enqueue(&mut tx, &id(user)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let slow = || {
            outbox
                .relay(client(&sink.url))
                .concurrency(1)
                .lease(ms(2000))
                .poll_interval(ms(50))
        };
        let first = start(slow());
        // It claims two rows, then twice as many once that claim came back full.
        until("the first relay holding all five", || async {
            outbox.stats().await.unwrap().in_flight == 5
        })
        .await;
        assert_eq!(sink.read(|r| r.arrived.len()), 1);
        let second = start(slow());
        sink.wait("every user answered", |r| {
            users.iter().all(|u| r.answered_ok(u) == 1)
        })
        .await;
        drained(&outbox).await;
        first.stop().await;
        second.stop().await;
        sink.read(|r| {
            let counts: Vec<_> = users.iter().map(|u| r.count(u)).collect();
            assert_eq!((counts, r.overlaps), (vec![1; 5], 0), "{:?}", r.arrived);
        });
    }

    async fn batch_size_caps_what_one_relay_holds<DB: Backend>(outbox: Outbox<DB>) {
        // Every ping hangs. A relay pinging one at a time with a batch of 3 holds three rows and
        // leaves the other seven to a second relay (with the default batch it would hold all ten).
        let sink = Sink::start().await;
        let never = Arc::new(Notify::new());
        let users: Vec<String> = (0..10).map(|n| format!("u{n}")).collect();
        let mut tx = outbox.pool().begin().await.unwrap();
        for user in &users {
            sink.script(user, [Answer::Hold(never.clone())]);
            outbox.enqueue(&mut tx, &id(user)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let patient = || client(&sink.url).request_timeout(Duration::from_secs(3600));
        let capped = outbox
            .relay(patient())
            .concurrency(1)
            .batch_size(3)
            .shutdown_grace(ms(50));
        let first = start(capped);
        until("the first relay holding three rows", || async {
            outbox.stats().await.unwrap().in_flight == 3
        })
        .await;
        let second = start(outbox.relay(patient()).shutdown_grace(ms(50)));
        sink.wait("eight pings hanging", |r| r.arrived.len() == 8)
            .await;
        assert_eq!(outbox.stats().await.unwrap().in_flight, 10);
        first.stop().await;
        second.stop().await;
        assert_eq!(outbox.stats().await.unwrap().in_flight, 0);
    }

    /// Each scenario on SQLite (a file of its own) and on Postgres (a database of its own).
    macro_rules! on_both_backends {
        ($($scenario:ident),* $(,)?) => {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $scenario() {
                        let file = super::SqliteFile::new();
                        super::$scenario(file.outbox().await).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $scenario() {
                        let Some(pool) = super::pg::pool().await else { return };
                        let outbox = tower_livefyre::outbox::Outbox::new(pool);
                        outbox.migrate().await.unwrap();
                        super::$scenario(outbox).await;
                    }
                )*
            }
        };
    }

    on_both_backends!(
        rollback_means_no_ping_commit_means_a_ping,
        hundred_enqueues_give_few_pings_and_the_last_state,
        enqueue_during_an_in_flight_ping_is_delivered_after,
        permanent_failure_parks_and_requeue_delivers,
        expired_lease_is_reclaimed,
        retryable_failures_back_off_and_deliver,
        shutdown_releases_what_is_in_flight,
        an_enqueue_wakes_the_relay_at_once,
        a_row_queued_for_half_its_lease_is_given_back_not_pinged,
        batch_size_caps_what_one_relay_holds,
        a_pinged_row_stays_until_its_pull_and_refused_pulls_confirm_nothing,
        an_enqueue_between_ping_and_pull_keeps_the_row_and_repings,
        unpulled_pings_are_repeated_then_parked_and_a_new_change_revives_the_row,
        no_pull_at_the_emulator_is_repinged_and_delivered,
        a_ping_slower_than_the_lease_neither_overlaps_nor_deletes_a_newer_row,
        zero_and_max_settings_neither_panic_nor_spin,
        a_rate_cap_paces_a_drain,
    );

    /// Postgres relays also wake for enqueues made elsewhere (another handle, another
    /// process): `LISTEN/NOTIFY`, delivered at commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_notify_wakes_relays_of_other_handles() {
        let Some(pool) = pg::pool().await else { return };
        let relay_side = Outbox::new(pool.clone());
        relay_side.migrate().await.unwrap();
        let sink = Sink::start().await;
        let relay = relay_side
            .relay(client(&sink.url))
            .poll_interval(Duration::from_secs(3600));
        let relay = start(relay);
        // Another handle: its in-process wake reaches no relay.
        let app_side = Outbox::new(pool);
        for id in ["ann.lee", "bob", "carla"] {
            enqueue(&app_side, id).await;
            sink.wait("the ping", |r| r.answered_ok(id) == 1).await;
        }
        relay.stop().await;
    }

    /// A second process starting while the first one writes (an app's enqueues, its relay)
    /// migrates without "database is locked": on SQLite the migration's transaction reads
    /// the schema before it writes, so it must take the write lock at its start and wait,
    /// not fail at its first write because another connection wrote in between.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrate_waits_for_a_concurrent_writer_on_sqlite() {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
        let file = SqliteFile::new();
        let options = || {
            file.url()
                .parse::<SqliteConnectOptions>()
                .unwrap()
                .journal_mode(SqliteJournalMode::Wal)
        };
        let writer = Outbox::new(
            SqlitePoolOptions::new()
                .connect_with(options())
                .await
                .unwrap(),
        );
        writer.migrate().await.unwrap();
        let starting = Outbox::new(
            SqlitePoolOptions::new()
                .connect_with(options())
                .await
                .unwrap(),
        );

        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writes = tokio::spawn({
            let (writer, stop) = (writer.clone(), Arc::clone(&stop));
            async move {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    enqueue(&writer, &format!("user{}", n % 50)).await;
                    n += 1;
                }
                n
            }
        });
        let mut failures = Vec::new();
        for _ in 0..200 {
            if let Err(error) = starting.migrate().await {
                failures.push(error.to_string());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writes.await.unwrap();
        assert!(written > 0, "the writer never wrote");
        assert!(
            failures.is_empty(),
            "{} of 200 migrations failed: {:?}",
            failures.len(),
            failures.first()
        );
    }

    /// A row written by hand with an id Livefyre would refuse is parked, never sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hand_written_invalid_id_is_parked_unsent() {
        let file = SqliteFile::new();
        let outbox = file.outbox().await;
        sqlx::query(
            "INSERT INTO livefyre_outbox (user_id, generation, due_at, created_at, updated_at) \
             VALUES ('ann lee', 1, 0, 0, 0)",
        )
        .execute(outbox.pool())
        .await
        .unwrap();
        let sink = Sink::start().await;
        let relay = start(outbox.relay(client(&sink.url)));
        until("the row parked", || async {
            outbox.stats().await.unwrap().parked == 1
        })
        .await;
        relay.stop().await;
        let parked = outbox.parked(10).await.unwrap();
        assert_eq!(parked[0].user_id, "ann lee");
        assert!(
            parked[0].reason.starts_with("invalid Livefyre user id"),
            "{parked:?}"
        );
        assert_eq!(sink.read(|r| r.arrived.len()), 0);
    }

    /// `Outbox<Any>`: the backend is picked at run time from the URL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn any_pool_on_sqlite() {
        sqlx::any::install_default_drivers();
        let file = SqliteFile::new();
        let outbox: Outbox<Any> = Outbox::new(AnyPool::connect(&file.url()).await.unwrap());
        outbox.migrate().await.unwrap();
        rollback_means_no_ping_commit_means_a_ping(outbox).await;
    }

    #[tokio::test]
    async fn any_pool_on_another_database_is_refused() {
        sqlx::any::install_default_drivers();
        let options: sqlx::any::AnyConnectOptions = "mysql://localhost/app".parse().unwrap();
        let outbox: Outbox<Any> =
            Outbox::new(sqlx::pool::PoolOptions::new().connect_lazy_with(options));
        let error = outbox.migrate().await.unwrap_err();
        assert!(matches!(error, OutboxError::UnsupportedDatabase(ref name) if name == "mysql"));
        assert_eq!(
            error.to_string(),
            "the outbox runs on SQLite and Postgres, not on `mysql`"
        );
    }
}
