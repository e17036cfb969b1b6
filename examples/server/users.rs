//! The app's `users` table: its schema, rows as profiles, and the one write path (upsert
//! the rows that changed and enqueue their pings, in the caller's transaction).

use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use tower_livefyre::outbox::{Outbox, OutboxError};
use tower_livefyre::{
    BoxError, Profile, ProfileSource, UserId,
    profile::{DisplayRules, EmailNotifications, Frequency, Name},
};

/// A users table as an app would have it. NULL always means "not set". JSON arrays are TEXT
/// and flags SMALLINT 0/1, so the same SQL runs on SQLite and Postgres (sqlx's Any driver
/// cannot read SQLite `BOOLEAN` columns).
pub const CREATE_USERS: &str = "CREATE TABLE IF NOT EXISTS users (
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

        let mut p = Profile::new(UserId::new(self.id)?, self.display_name);
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
pub struct SqlUsers(pub AnyPool);

impl ProfileSource for SqlUsers {
    type Error = BoxError;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, BoxError> {
        let mut conn = self.0.acquire().await?;
        load(&mut conn, id).await
    }
}

/// The profile of `id`, if the user exists.
pub async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<Profile>, BoxError> {
    let query = sqlx::query_as(SELECT_USER).bind(id);
    let row: Option<UserRow> = query.fetch_optional(conn).await?;
    row.map(UserRow::into_profile).transpose()
}

/// Why storing profiles failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Outbox(#[from] OutboxError),
    #[error("stored profile of {id:?} is unreadable: {source}")]
    Unreadable { id: String, source: BoxError },
}

/// Upserts the profiles that differ from their row and enqueues a ping for each, in `tx`:
/// the change and its ping commit together. Returns the ids that changed.
pub async fn store_changed(
    tx: &mut Transaction<'static, Any>,
    outbox: &Outbox<Any>,
    profiles: &[Profile],
) -> Result<Vec<String>, StoreError> {
    let now = std::time::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_secs() as i64);
    let flag = |value: Option<bool>| value.map(i16::from);
    let text = |value: Option<Frequency>| value.map(frequency_text);
    let json =
        |value: &Option<Vec<String>>| value.as_ref().map(|v| serde_json::json!(v).to_string());
    let mut changed = Vec::new();
    for p in profiles {
        let stored = load(tx, &p.id)
            .await
            .map_err(|source| StoreError::Unreadable {
                id: p.id.to_string(),
                source,
            })?;
        if stored.as_ref() == Some(p) {
            continue;
        }
        let name = p.name.clone().unwrap_or_default();
        let mail = p.email_notifications.clone().unwrap_or_default();
        let show = p.display_rules.clone().unwrap_or_default();
        #[rustfmt::skip] // one line per group of columns, in the order of `user_columns!`
        let query = sqlx::query(UPSERT_USER)
            .bind(p.id.to_string()).bind(p.display_name.clone())
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
        query.execute(&mut **tx).await?;
        outbox.enqueue(tx, &p.id).await?;
        changed.push(p.id.to_string());
    }
    Ok(changed)
}
