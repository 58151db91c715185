//! Every statement the store runs, prepared once per session (prepared
//! statements are token-aware: the driver sends each to a replica of its
//! partition).

use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;

use super::schema::unavailable;
use crate::store::StoreResult;

pub(crate) struct Statements {
    pub(crate) insert_device: PreparedStatement,
    pub(crate) select_device: PreparedStatement,
    pub(crate) insert_subscription: PreparedStatement,
    pub(crate) insert_subscription_by_device: PreparedStatement,
    pub(crate) select_subscription: PreparedStatement,
    pub(crate) select_subscriptions_of: PreparedStatement,
    pub(crate) delete_subscription: PreparedStatement,
    pub(crate) delete_subscription_by_device: PreparedStatement,
    pub(crate) delete_topics_of: PreparedStatement,
    pub(crate) insert_message: PreparedStatement,
    pub(crate) select_pending: PreparedStatement,
    pub(crate) select_usage: PreparedStatement,
    pub(crate) select_existing: PreparedStatement,
    pub(crate) delete_messages: PreparedStatement,
    pub(crate) select_topic: PreparedStatement,
    pub(crate) insert_topic: PreparedStatement,
    pub(crate) select_message_subscriptions: PreparedStatement,
}

impl Statements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            // Lightweight transactions: creating an id twice must be refused, not merged.
            insert_device: p.cql("INSERT INTO {ks}.devices (id, secret_hash, created_at) VALUES (?, ?, ?) IF NOT EXISTS").await?,
            select_device: p.cql("SELECT id, secret_hash, created_at FROM {ks}.devices WHERE id = ?").await?,
            insert_subscription: p.cql(
                "INSERT INTO {ks}.subscriptions (id, device_id, app_server_key, created_at, account_id) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            insert_subscription_by_device: p.cql(
                "INSERT INTO {ks}.subscriptions_by_device (device_id, id, app_server_key, created_at) VALUES (?, ?, ?, ?)",
            )
            .await?,
            select_subscription: p.cql("SELECT id, device_id, app_server_key, created_at, account_id FROM {ks}.subscriptions WHERE id = ?").await?,
            select_subscriptions_of: p.cql(
                "SELECT id, device_id, app_server_key, created_at FROM {ks}.subscriptions_by_device WHERE device_id = ?",
            )
            .await?,
            delete_subscription: p.cql("DELETE FROM {ks}.subscriptions WHERE id = ?").await?,
            delete_subscription_by_device: p.cql("DELETE FROM {ks}.subscriptions_by_device WHERE device_id = ? AND id = ?").await?,
            delete_topics_of: p.cql("DELETE FROM {ks}.device_topics WHERE device_id = ? AND subscription_id = ?").await?,
            // The write carries the message's own arrival time as its timestamp,
            // so an ack (a delete stamped later) wins even if it lands first.
            insert_message: p.cql(
                "INSERT INTO {ks}.messages (device_id, id, subscription_id, topic, urgency, payload, size, received_at, expires_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
            )
            .await?,
            select_pending: p.cql(
                "SELECT id, subscription_id, topic, urgency, payload, received_at, expires_at FROM {ks}.messages
                 WHERE device_id = ? AND id > ?",
            )
            .await?,
            select_usage: p.cql("SELECT size, expires_at FROM {ks}.messages WHERE device_id = ?").await?,
            select_existing: p.cql("SELECT size, expires_at FROM {ks}.messages WHERE device_id = ? AND id IN ?").await?,
            delete_messages: p.cql("DELETE FROM {ks}.messages USING TIMESTAMP ? WHERE device_id = ? AND id IN ?").await?,
            select_topic: p.cql("SELECT message_id FROM {ks}.device_topics WHERE device_id = ? AND subscription_id = ? AND topic = ?").await?,
            insert_topic: p.cql(
                "INSERT INTO {ks}.device_topics (device_id, subscription_id, topic, message_id) VALUES (?, ?, ?, ?) USING TTL ?",
            )
            .await?,
            select_message_subscriptions: p.cql("SELECT id, subscription_id, size, expires_at FROM {ks}.messages WHERE device_id = ?").await?,
        })
    }
}

/// Prepares `cql` with `{ks}` replaced by the keyspace, at `consistency`.
/// Prepares statements in one keyspace (`{ks}` in the CQL) at one
/// consistency: every statement group of the store is built with one.
pub(crate) struct Preparer<'a> {
    pub(crate) session: &'a Session,
    pub(crate) keyspace: &'a str,
    pub(crate) consistency: Consistency,
}

impl Preparer<'_> {
    pub(crate) async fn cql(&self, cql: impl AsRef<str>) -> StoreResult<PreparedStatement> {
        let cql = cql.as_ref().replace("{ks}", self.keyspace);
        let mut statement = self.session.prepare(cql).await.map_err(unavailable)?;
        statement.set_consistency(self.consistency);
        Ok(statement)
    }
}
