//! A complete Ping-for-Pull endpoint: axum in front, your SQL `users` table behind.
//!
//! ```sh
//! cargo run --example server
//! ```
//!
//! It serves `GET /livefyre/pull?id={id}&lftoken=…` with [`tower_livefyre::pull_endpoint`]
//! over a [`ProfileSource`] that reads a `users` table through sqlx (SQLite or Postgres), and
//! prints `listening on http://ADDR` once it accepts connections. Register
//! `https://your.site/livefyre/pull?id={id}` as your network's Ping-for-Pull URL.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LIVEFYRE_NETWORK` | `demo.fyre.co` | your network's name |
//! | `LIVEFYRE_NETWORK_KEY` | the public demo key (with a warning), for `demo.fyre.co` only; else required | your network key; never printed |
//! | `LISTEN_ADDR` | `127.0.0.1:3000` | where to listen (`127.0.0.1:0` picks a free port) |
//! | `DATABASE_URL` | `sqlite://tower-livefyre-demo.db?mode=rwc` | `sqlite://…` or `postgres://…` |
//! | `PROFILES_SEED` | — | a JSON array of profile documents, upserted at start |
//! | `RUST_LOG` | `info,sqlx=warn` | log filter (logs go to stderr) |
//!
//! With no seed and an empty table, three demo users are created (`ann.lee`, `bob`,
//! `carla_m`). With the demo key it also prints a ready-to-paste `curl` line carrying a
//! fresh system token; with your own key it prints no token at all. SIGINT or SIGTERM
//! stops it cleanly. A panicking source answers 500 and the server keeps serving.

mod support;

use std::{any::Any, error::Error, io::Write, process::ExitCode};

use axum::{Router, http::StatusCode, response::IntoResponse, response::Response};
use sqlx::AnyPool;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_livefyre::{
    BoxError, DisplayRules, EmailNotifications, Frequency, Name, Profile, ProfileSource,
    pull_endpoint,
};
use tracing_subscriber::EnvFilter;

const DEFAULT_DATABASE_URL: &str = "sqlite://tower-livefyre-demo.db?mode=rwc";

/// A users table as an app would have it. NULL always means "not set". JSON arrays are TEXT
/// and flags SMALLINT 0/1, so the same SQL runs on SQLite and Postgres (sqlx's Any driver
/// cannot read SQLite `BOOLEAN` columns).
const CREATE_USERS: &str = "CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, display_name TEXT NOT NULL,
    formatted_name TEXT, first_name TEXT, middle_name TEXT, last_name TEXT, nickname TEXT,
    email TEXT, avatar_url TEXT, profile_url TEXT, settings_url TEXT, location TEXT, bio TEXT,
    tags TEXT, websites TEXT, autofollow_conversations SMALLINT,
    notify_comments TEXT, notify_replies TEXT, notify_likes TEXT,
    notify_moderator_comments TEXT, notify_moderator_flags TEXT,
    show_bio SMALLINT, show_location SMALLINT, show_gender SMALLINT, show_name SMALLINT,
    show_image SMALLINT, show_remote_profile_url SMALLINT,
    moderator SMALLINT, gravatar_disabled SMALLINT, updated_at BIGINT NOT NULL)";

/// The columns of `users` that make up a profile, in the order the upsert binds them.
macro_rules! user_columns {
    () => {
        "id, display_name, formatted_name, first_name, middle_name, last_name, nickname, \
         email, avatar_url, profile_url, settings_url, location, bio, tags, websites, \
         autofollow_conversations, notify_comments, notify_replies, notify_likes, \
         notify_moderator_comments, notify_moderator_flags, show_bio, show_location, \
         show_gender, show_name, show_image, show_remote_profile_url, moderator, \
         gravatar_disabled"
    };
}
const SELECT_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
const UPSERT_USER: &str = concat!(
    "INSERT INTO users (",
    user_columns!(),
    ", updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
     $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) \
     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, \
     formatted_name = excluded.formatted_name, first_name = excluded.first_name, \
     middle_name = excluded.middle_name, last_name = excluded.last_name, \
     nickname = excluded.nickname, email = excluded.email, avatar_url = excluded.avatar_url, \
     profile_url = excluded.profile_url, settings_url = excluded.settings_url, \
     location = excluded.location, bio = excluded.bio, tags = excluded.tags, \
     websites = excluded.websites, autofollow_conversations = excluded.autofollow_conversations, \
     notify_comments = excluded.notify_comments, notify_replies = excluded.notify_replies, \
     notify_likes = excluded.notify_likes, \
     notify_moderator_comments = excluded.notify_moderator_comments, \
     notify_moderator_flags = excluded.notify_moderator_flags, show_bio = excluded.show_bio, \
     show_location = excluded.show_location, show_gender = excluded.show_gender, \
     show_name = excluded.show_name, show_image = excluded.show_image, \
     show_remote_profile_url = excluded.show_remote_profile_url, \
     moderator = excluded.moderator, gravatar_disabled = excluded.gravatar_disabled, \
     updated_at = excluded.updated_at"
);

/// One `users` row; [`UserRow::into_profile`] is the only place rows become profiles.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    display_name: String,
    formatted_name: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    nickname: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
    profile_url: Option<String>,
    settings_url: Option<String>,
    location: Option<String>,
    bio: Option<String>,
    tags: Option<String>,
    websites: Option<String>,
    autofollow_conversations: Option<i64>,
    notify_comments: Option<String>,
    notify_replies: Option<String>,
    notify_likes: Option<String>,
    notify_moderator_comments: Option<String>,
    notify_moderator_flags: Option<String>,
    show_bio: Option<i64>,
    show_location: Option<i64>,
    show_gender: Option<i64>,
    show_name: Option<i64>,
    show_image: Option<i64>,
    show_remote_profile_url: Option<i64>,
    moderator: Option<i64>,
    gravatar_disabled: Option<i64>,
}

impl UserRow {
    fn into_profile(self) -> Result<Profile, BoxError> {
        let flag = |value: Option<i64>| value.map(|v| v != 0);
        let mut name = Name::new();
        (name.formatted, name.first) = (self.formatted_name, self.first_name);
        (name.middle, name.last) = (self.middle_name, self.last_name);
        let mut mail = EmailNotifications::new();
        mail.comments = frequency(self.notify_comments)?;
        mail.replies = frequency(self.notify_replies)?;
        mail.likes = frequency(self.notify_likes)?;
        mail.moderator_comments = frequency(self.notify_moderator_comments)?;
        mail.moderator_flags = frequency(self.notify_moderator_flags)?;
        let mut show = DisplayRules::new();
        (show.bio, show.location) = (flag(self.show_bio), flag(self.show_location));
        (show.gender, show.name) = (flag(self.show_gender), flag(self.show_name));
        (show.image, show.remote_profile_url) =
            (flag(self.show_image), flag(self.show_remote_profile_url));

        let mut p = Profile::new(self.id, self.display_name);
        p.name = (name != Name::new()).then_some(name);
        p.email_notifications = (mail != EmailNotifications::new()).then_some(mail);
        p.display_rules = (show != DisplayRules::new()).then_some(show);
        (p.nickname, p.email, p.image_url) = (self.nickname, self.email, self.avatar_url);
        (p.profile_url, p.settings_url) = (self.profile_url, self.settings_url);
        (p.location, p.bio) = (self.location, self.bio);
        p.tags = self
            .tags
            .map(|json| serde_json::from_str(&json))
            .transpose()?;
        p.websites = self
            .websites
            .map(|json| serde_json::from_str(&json))
            .transpose()?;
        p.autofollow_conversations = flag(self.autofollow_conversations);
        (p.moderator, p.gravatar_disabled) = (flag(self.moderator), flag(self.gravatar_disabled));
        Ok(p)
    }
}

/// `immediately`, `often` or `never` in the database; anything else is a 500, not a guess.
fn frequency(text: Option<String>) -> Result<Option<Frequency>, serde_json::Error> {
    text.map(|text| serde_json::from_value(text.into()))
        .transpose()
}

fn frequency_text(frequency: Frequency) -> &'static str {
    match frequency {
        Frequency::Immediately => "immediately",
        Frequency::Often => "often",
        Frequency::Never => "never",
    }
}

/// The [`ProfileSource`] Livefyre's pulls read from.
struct SqlUsers(AnyPool);

impl ProfileSource for SqlUsers {
    type Error = BoxError;

    async fn profile(&self, id: &str) -> Result<Option<Profile>, BoxError> {
        let query = sqlx::query_as(SELECT_USER).bind(id);
        let row: Option<UserRow> = query.fetch_optional(&self.0).await?;
        row.map(UserRow::into_profile).transpose()
    }
}

/// Inserts or replaces `profiles`, all or none; only bind parameters reach the SQL.
async fn upsert(pool: &AnyPool, profiles: &[Profile]) -> Result<(), sqlx::Error> {
    let now = std::time::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_secs() as i64);
    let flag = |value: Option<bool>| value.map(i16::from);
    let text = |value: Option<Frequency>| value.map(frequency_text);
    let json =
        |value: &Option<Vec<String>>| value.as_ref().map(|v| serde_json::json!(v).to_string());
    let mut tx = pool.begin().await?;
    for p in profiles {
        let name = p.name.clone().unwrap_or_default();
        let mail = p.email_notifications.clone().unwrap_or_default();
        let show = p.display_rules.clone().unwrap_or_default();
        #[rustfmt::skip] // one line per group of columns, in the order of `user_columns!`
        let query = sqlx::query(UPSERT_USER)
            .bind(p.id.clone()).bind(p.display_name.clone())
            .bind(name.formatted).bind(name.first).bind(name.middle).bind(name.last)
            .bind(p.nickname.clone()).bind(p.email.clone()).bind(p.image_url.clone())
            .bind(p.profile_url.clone()).bind(p.settings_url.clone())
            .bind(p.location.clone()).bind(p.bio.clone())
            .bind(json(&p.tags)).bind(json(&p.websites)).bind(flag(p.autofollow_conversations))
            .bind(text(mail.comments)).bind(text(mail.replies)).bind(text(mail.likes))
            .bind(text(mail.moderator_comments)).bind(text(mail.moderator_flags))
            .bind(flag(show.bio)).bind(flag(show.location)).bind(flag(show.gender))
            .bind(flag(show.name)).bind(flag(show.image)).bind(flag(show.remote_profile_url))
            .bind(flag(p.moderator)).bind(flag(p.gravatar_disabled))
            .bind(now);
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}

fn demo_users() -> Vec<Profile> {
    vec![
        Profile::new("ann.lee", "Ann Lee")
            .with_name(Name::new().with_first("Ann").with_last("Lee"))
            .with_email("ann.lee@example.com")
            .with_image_url("https://example.com/avatars/ann.lee.png")
            .with_profile_url("https://example.com/users/ann.lee")
            .with_tags(["staff", "beta"])
            .with_email_notifications(
                EmailNotifications::new().with_replies(Frequency::Immediately),
            )
            .with_display_rules(DisplayRules::new().with_name(true)),
        Profile::new("bob", "Bob"),
        Profile::new("carla_m", "Carla M.")
            .with_location("Lisbon")
            .with_bio("Keeps the football threads civil.")
            .with_websites(["https://carla.example.org"])
            .with_autofollow_conversations(false)
            .with_moderator(true)
            .with_email_notifications(
                EmailNotifications::new()
                    .with_moderator_comments(Frequency::Often)
                    .with_moderator_flags(Frequency::Immediately),
            ),
    ]
}

/// Reads `PROFILES_SEED`: every profile is parsed and validated before anything is stored.
fn read_seed(path: &str) -> Result<Vec<Profile>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("PROFILES_SEED={path}: cannot read it: {e}"))?;
    let profiles: Vec<Profile> = serde_json::from_str(&text)
        .map_err(|e| format!("PROFILES_SEED={path}: not a JSON array of profiles: {e}"))?;
    for (i, p) in profiles.iter().enumerate() {
        p.validate()
            .map_err(|e| format!("PROFILES_SEED={path}: profile #{i} (id {:?}): {e}", p.id))?;
    }
    Ok(profiles)
}

/// 500 with an empty body, like every other failure of the endpoint.
fn panic_response(_panic: Box<dyn Any + Send>) -> Response {
    tracing::error!("the profile source panicked; answered 500");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

async fn run() -> Result<(), Box<dyn Error>> {
    let (network, demo) = support::network_from_env()?;
    let listen = support::var("LISTEN_ADDR")?.unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let database_url =
        support::var("DATABASE_URL")?.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    let seed = support::var("PROFILES_SEED")?
        .map(|path| read_seed(&path))
        .transpose()?;

    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot connect: {e}"))?;
    sqlx::query(CREATE_USERS).execute(&pool).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await?;
    match seed {
        Some(profiles) => upsert(&pool, &profiles).await?,
        None if count == 0 => upsert(&pool, &demo_users()).await?,
        None => {}
    }
    tracing::info!(
        backend = pool.connect_options().database_url.scheme(),
        network = network.name(),
        "users table ready"
    );

    let endpoint = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(panic_response))
        .service(pull_endpoint(network.clone(), SqlUsers(pool.clone())));
    let app = Router::new().route_service("/livefyre/pull", endpoint);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("LISTEN_ADDR={listen}: {e}"))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    if demo {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 1")
            .fetch_optional(&pool)
            .await?;
        let id = id.unwrap_or_else(|| "ann.lee".to_owned());
        let token = network.build_livefyre_token()?;
        println!("try: curl -i 'http://{addr}/livefyre/pull?id={id}&lftoken={token}'");
    }
    std::io::stdout().flush()?;

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            support::shutdown_signal().await;
            tracing::info!("shutting down");
        })
        .await?;
    pool.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
