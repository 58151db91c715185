//! Accounts, members and sealed key bundles in CQL.
//!
//! A device's account is claimed in `device_accounts` with a lightweight
//! transaction, so two racing joins cannot put one device in two accounts.

use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use super::rows::{self, applied};
use super::schema::backend;
use super::statements::Preparer;
use crate::domain::{AccountDevice, SubscriptionRecord};
use crate::store::{StoreError, StoreResult};

pub(crate) struct AccountStatements {
    pub(crate) insert_subscription: PreparedStatement,
    pub(crate) delete_subscription: PreparedStatement,
    select_subscriptions: PreparedStatement,
    claim_device: PreparedStatement,
    select_device_account: PreparedStatement,
    delete_device_account: PreparedStatement,
    insert_member: PreparedStatement,
    select_member: PreparedStatement,
    select_members: PreparedStatement,
    approve: PreparedStatement,
    delete_member: PreparedStatement,
    delete_device: PreparedStatement,
    delete_queue: PreparedStatement,
    delete_topics: PreparedStatement,
}

const MEMBER_COLUMNS: &str =
    "account_id, device_id, name, public_key, auth_secret, approved, added_at";
type MemberRow = (String, String, String, Vec<u8>, Vec<u8>, bool, i64);

impl AccountStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        let members = format!("SELECT {MEMBER_COLUMNS} FROM {{ks}}.account_devices");
        Ok(Self {
            insert_subscription: p.cql("INSERT INTO {ks}.account_subscriptions (account_id, id, device_id, app_server_key, created_at) VALUES (?, ?, ?, ?, ?)").await?,
            delete_subscription: p.cql("DELETE FROM {ks}.account_subscriptions WHERE account_id = ? AND id = ?").await?,
            select_subscriptions: p.cql("SELECT id, device_id, app_server_key, created_at, account_id FROM {ks}.account_subscriptions WHERE account_id = ?").await?,
            claim_device: p.cql("INSERT INTO {ks}.device_accounts (device_id, account_id) VALUES (?, ?) IF NOT EXISTS").await?,
            select_device_account: p.cql("SELECT account_id FROM {ks}.device_accounts WHERE device_id = ?").await?,
            delete_device_account: p.cql("DELETE FROM {ks}.device_accounts WHERE device_id = ?").await?,
            insert_member: p.cql(format!("INSERT INTO {{ks}}.account_devices ({MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)")).await?,
            select_member: p.cql(format!("{members} WHERE account_id = ? AND device_id = ?")).await?,
            select_members: p.cql(format!("{members} WHERE account_id = ?")).await?,
            approve: p.cql("UPDATE {ks}.account_devices SET approved = true WHERE account_id = ? AND device_id = ? IF EXISTS").await?,
            delete_member: p.cql("DELETE FROM {ks}.account_devices WHERE account_id = ? AND device_id = ?").await?,
            delete_device: p.cql("DELETE FROM {ks}.devices WHERE id = ?").await?,
            delete_queue: p.cql("DELETE FROM {ks}.messages WHERE device_id = ?").await?,
            delete_topics: p.cql("DELETE FROM {ks}.device_topics WHERE device_id = ?").await?,
        })
    }
}

fn member(
    (account_id, device_id, name, public_key, auth_secret, approved, added_at): MemberRow,
) -> AccountDevice {
    AccountDevice {
        account_id,
        device_id,
        name,
        public_key,
        auth_secret,
        approved,
        added_at,
    }
}

impl ScyllaStore {
    pub(super) async fn member_ids(&self, account_id: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .members(account_id)
            .await?
            .into_iter()
            .map(|member| member.device_id)
            .collect())
    }

    pub(super) async fn members(&self, account_id: &str) -> StoreResult<Vec<AccountDevice>> {
        let result = self
            .execute(&self.accounts.select_members, (account_id,))
            .await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let mut members = rows
            .rows::<MemberRow>()
            .map_err(backend)?
            .map(|row| row.map(member).map_err(backend))
            .collect::<StoreResult<Vec<_>>>()?;
        members.sort_by(|a, b| (a.added_at, &a.device_id).cmp(&(b.added_at, &b.device_id)));
        Ok(members)
    }

    pub(super) async fn account_subscriptions_of(
        &self,
        account_id: &str,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let result = self
            .execute(&self.accounts.select_subscriptions, (account_id,))
            .await?;
        let mut subscriptions = rows::subscriptions(result)?;
        subscriptions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(subscriptions)
    }

    pub(super) async fn add_member(&self, member: &AccountDevice) -> StoreResult<()> {
        let claimed = self
            .execute(
                &self.accounts.claim_device,
                (&member.device_id, &member.account_id),
            )
            .await?;
        if !applied(claimed)? {
            return Err(StoreError::AlreadyExists(format!(
                "account membership of {}",
                member.device_id
            )));
        }
        let values = (
            &member.account_id,
            &member.device_id,
            &member.name,
            &member.public_key,
            &member.auth_secret,
            member.approved,
            member.added_at,
        );
        self.execute(&self.accounts.insert_member, values).await?;
        Ok(())
    }

    pub(super) async fn membership(&self, device_id: &str) -> StoreResult<Option<AccountDevice>> {
        let result = self
            .execute(&self.accounts.select_device_account, (device_id,))
            .await?;
        let Some(account_id) = rows::maybe_text(result)? else {
            return Ok(None);
        };
        let result = self
            .execute(&self.accounts.select_member, (&account_id, device_id))
            .await?;
        let rows = result.into_rows_result().map_err(backend)?;
        Ok(rows
            .maybe_first_row::<MemberRow>()
            .map_err(backend)?
            .map(member))
    }

    pub(super) async fn approve_member(
        &self,
        account_id: &str,
        device_id: &str,
    ) -> StoreResult<bool> {
        let result = self
            .execute(&self.accounts.approve, (account_id, device_id))
            .await?;
        applied(result)
    }

    /// The credential goes first, so the device is locked out even if a
    /// later step fails; every step is safe to repeat.
    pub(super) async fn delete_device(&self, device_id: &str) -> StoreResult<bool> {
        use crate::store::Store as _;
        let existed = self.device(device_id).await?.is_some();
        self.execute(&self.accounts.delete_device, (device_id,))
            .await?;
        if let Some(member) = self.membership(device_id).await? {
            self.execute(
                &self.accounts.delete_member,
                (&member.account_id, device_id),
            )
            .await?;
        }
        self.execute(&self.accounts.delete_device_account, (device_id,))
            .await?;
        for subscription in self.subscriptions_of(device_id).await? {
            self.delete_subscription(device_id, &subscription.id)
                .await?;
        }
        for statement in [
            &self.accounts.delete_queue,
            &self.accounts.delete_topics,
            &self.sealed.delete_of,
        ] {
            self.execute(statement, (device_id,)).await?;
        }
        self.usage.forget_device(&self.session, device_id).await?;
        self.write_bridge(device_id, None).await?;
        let own_blocks = crate::domain::BlockOwner::Device(device_id.to_owned()).key();
        self.execute(&self.sealed.delete_blocks, (own_blocks,))
            .await?;
        Ok(existed)
    }
}
