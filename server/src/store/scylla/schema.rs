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
    &[
        // Accounts: an account subscription reaches every approved member.
        "ALTER TABLE {ks}.subscriptions ADD account_id text",
        "CREATE TABLE IF NOT EXISTS {ks}.account_subscriptions (
        account_id text, id text, device_id text, app_server_key blob, created_at bigint,
        PRIMARY KEY (account_id, id))",
        "CREATE TABLE IF NOT EXISTS {ks}.account_devices (
        account_id text, device_id text, name text, public_key blob, auth_secret blob,
        approved boolean, added_at bigint, PRIMARY KEY (account_id, device_id))",
        // Which account a device belongs to (at most one, claimed with a lightweight transaction).
        "CREATE TABLE IF NOT EXISTS {ks}.device_accounts (device_id text PRIMARY KEY, account_id text)",
        // Subscription keys sealed to a device's own key; ciphertext only.
        "CREATE TABLE IF NOT EXISTS {ks}.sealed_keys (
        recipient_device_id text, subscription_id text, sender_device_id text, sealed blob,
        created_at bigint, PRIMARY KEY (recipient_device_id, subscription_id))",
        // Topic replacement per device: an account subscription's copies
        // live in several queues. Replaces `topics`, which stays unused.
        "CREATE TABLE IF NOT EXISTS {ks}.device_topics (
        device_id text, subscription_id text, topic text, message_id text,
        PRIMARY KEY (device_id, subscription_id, topic))",
    ],
    &[
        // Sender keys refused for a device, an account or the whole service.
        "CREATE TABLE IF NOT EXISTS {ks}.sender_blocks (
        owner text, key blob, created_at bigint, PRIMARY KEY (owner, key))",
    ],
    &[
        // Keys the service makes once and every node shares (endpoint tokens).
        "CREATE TABLE IF NOT EXISTS {ks}.service_secrets (name text PRIMARY KEY, value blob)",
    ],
    &[
        // Delivery receipts by message id. `states` holds every state the
        // receipt reached (state -> when); the highest is its state, so two
        // nodes moving it at once cannot move it back. Rows carry a TTL.
        "CREATE TABLE IF NOT EXISTS {ks}.receipts (
        message_id text PRIMARY KEY, key_hash blob, subscription_id text, copies text,
        states map<int, bigint>, expires_at bigint)",
        // Receipts not yet final; message ids are UUIDv7 text, so clustering
        // order is creation order. One bucket for now, spread later if need be.
        "CREATE TABLE IF NOT EXISTS {ks}.pending_receipts (
        bucket int, message_id text, PRIMARY KEY (bucket, message_id))
        WITH CLUSTERING ORDER BY (message_id ASC)",
        // Each sender key's log of receipt changes; cursors are UUIDv7 text.
        "CREATE TABLE IF NOT EXISTS {ks}.receipt_events (
        key_hash blob, cursor text, message_id text, state int, at bigint,
        PRIMARY KEY (key_hash, cursor)) WITH CLUSTERING ORDER BY (cursor ASC)",
    ],
    &[
        // Bridged deliveries waiting to be sent, by the minute they are due
        // (see wake_ups.rs), and the minutes that hold any.
        "CREATE TABLE IF NOT EXISTS {ks}.wake_ups (
        minute bigint, due_at bigint, message_id text, device_id text,
        PRIMARY KEY (minute, due_at, message_id))
        WITH CLUSTERING ORDER BY (due_at ASC, message_id ASC)",
        "CREATE TABLE IF NOT EXISTS {ks}.wake_up_minutes (
        shard int, minute bigint, PRIMARY KEY (shard, minute))
        WITH CLUSTERING ORDER BY (minute ASC)",
    ],
    &[
        // Devices by the hour they registered (see registrations.rs).
        "CREATE TABLE IF NOT EXISTS {ks}.devices_by_hour (
        hour bigint, created_at bigint, device_id text,
        PRIMARY KEY (hour, created_at, device_id))
        WITH CLUSTERING ORDER BY (created_at ASC, device_id ASC)",
    ],
    &[
        // Each device's queue usage for the retention check, by expiry
        // bucket and writing process (see usage.rs); rows carry a TTL.
        "CREATE TABLE IF NOT EXISTS {ks}.queue_usage (
        device_id text, bucket bigint, writer text, messages bigint, bytes bigint,
        PRIMARY KEY (device_id, bucket, writer))
        WITH CLUSTERING ORDER BY (bucket ASC, writer ASC)",
    ],
];

pub(crate) const VERSION: i32 = MIGRATIONS.len() as i32;

pub(crate) async fn migrate(
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
    if let Err(error) = session.query_unpaged(statement, ()).await {
        // CQL has no `ADD IF NOT EXISTS` everywhere: a migration that died
        // after its ALTER runs it again and meets the column it added.
        let message = error.to_string();
        let column_exists =
            message.contains("already exist") || message.contains("conflicts with an existing");
        if !(statement.starts_with("ALTER TABLE") && column_exists) {
            return Err(unavailable(error));
        }
    }
    session
        .await_schema_agreement()
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(crate) fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

pub(crate) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}
