//! Keyspace, tables and their versioned migrations.
//!
//! The schema version lives in a table of its own; each migration runs once,
//! in order, and `pushd` waits for schema agreement after each so nodes of
//! the cluster never see a half-made table.

use scylla::client::session::Session;

use crate::store::{StoreError, StoreResult};

/// Each entry migrates from version `index` to `index + 1`; `{ks}` is the keyspace.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS {ks}.devices (
        id text PRIMARY KEY, secret_hash blob, created_at bigint)",
        "CREATE TABLE IF NOT EXISTS {ks}.subscriptions (
        id text PRIMARY KEY, device_id text, app_server_key blob, created_at bigint)",
        // The same records, partitioned by device, for listing and removal.
        "CREATE TABLE IF NOT EXISTS {ks}.subscriptions_by_device (
        device_id text, id text, app_server_key blob, created_at bigint,
        PRIMARY KEY (device_id, id))",
        // One partition per device; ids are UUIDv7 text, so clustering order is arrival order.
        "CREATE TABLE IF NOT EXISTS {ks}.messages (
        device_id text, id text, subscription_id text, topic text, urgency tinyint,
        payload blob, size int, received_at bigint, expires_at bigint,
        PRIMARY KEY (device_id, id)) WITH CLUSTERING ORDER BY (id ASC)",
        // Which queued message holds a topic on a subscription, for replacement.
        "CREATE TABLE IF NOT EXISTS {ks}.topics (
        subscription_id text, topic text, message_id text, device_id text,
        PRIMARY KEY (subscription_id, topic))",
    ],
    &[
        // Cluster membership: rows live only as long as heartbeats refresh their TTL.
        "CREATE TABLE IF NOT EXISTS {ks}.nodes (
        node_id text PRIMARY KEY, address text, heartbeat_at bigint)",
        // Which node holds each streaming device (see cluster::Directory).
        "CREATE TABLE IF NOT EXISTS {ks}.device_routes (
        device_id text PRIMARY KEY, node_id text, address text, claimed_at bigint)",
    ],
    &[
        // A device's mobile push bridge (APNs or FCM); scope is the topic or project.
        "CREATE TABLE IF NOT EXISTS {ks}.bridges (
        device_id text PRIMARY KEY, kind text, provider_token text, scope text, sandbox boolean,
        updated_at bigint)",
    ],
];

pub const VERSION: i32 = MIGRATIONS.len() as i32;

pub async fn migrate(
    session: &Session,
    keyspace: &str,
    replication_factor: u32,
) -> StoreResult<()> {
    let create_keyspace = format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    );
    run(session, &create_keyspace).await?;
    run(
        session,
        &format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.schema_version (id int PRIMARY KEY, version int)"
        ),
    )
    .await?;
    let current = current_version(session, keyspace).await?;
    if current > VERSION {
        return Err(StoreError::Backend(format!(
            "keyspace {keyspace} has schema version {current}, newer than this pushd understands ({VERSION}); upgrade pushd"
        )));
    }
    for (from, statements) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        for statement in *statements {
            run(session, &statement.replace("{ks}", keyspace)).await?;
        }
        let record = format!(
            "INSERT INTO {keyspace}.schema_version (id, version) VALUES (0, {})",
            from + 1
        );
        run(session, &record).await?;
    }
    Ok(())
}

async fn current_version(session: &Session, keyspace: &str) -> StoreResult<i32> {
    let query = format!("SELECT version FROM {keyspace}.schema_version WHERE id = 0");
    let result = session
        .query_unpaged(query, ())
        .await
        .map_err(unavailable)?;
    let rows = result.into_rows_result().map_err(backend)?;
    Ok(rows
        .maybe_first_row::<(i32,)>()
        .map_err(backend)?
        .map_or(0, |(version,)| version))
}

async fn run(session: &Session, statement: &str) -> StoreResult<()> {
    session
        .query_unpaged(statement, ())
        .await
        .map_err(unavailable)?;
    session
        .await_schema_agreement()
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

pub fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}
