//! Devices listed by registration time, and the sweep for devices never
//! used. Each run picks its own hour window far in the past, so devices
//! other cases (or other runs on a shared CQL keyspace) made are not in it.

use super::*;
use crate::domain::Bridge;
use crate::store::unused_devices::sweep;

async fn device_at(store: &Arc<dyn Store>, created_at: i64) -> String {
    let id = new_device_id();
    let record = DeviceRecord {
        id: id.clone(),
        secret_hash: vec![1; 32],
        created_at,
    };
    store.create_device(&record).await.expect("create device");
    id
}

/// An hour boundary in 2001 plus a random number of hours.
fn window_start() -> i64 {
    let mut random = [0u8; 4];
    openssl::rand::rand_bytes(&mut random).expect("random");
    1_000_000_000_000 / HOUR * HOUR + i64::from(u32::from_le_bytes(random) % 100_000) * HOUR
}

pub async fn devices_are_listed_by_registration_time_across_hours(store: Arc<dyn Store>) {
    let base = window_start();
    let first = device_at(&store, base).await;
    let second = device_at(&store, base + 2).await;
    let next_hour = device_at(&store, base + HOUR + 5).await;
    let _outside = device_at(&store, base + 2 * HOUR).await;
    let _before = device_at(&store, base - 1).await;
    let all = store
        .registered_between(base, base + 2 * HOUR, None, 10)
        .await
        .expect("list");
    let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str(), next_hour.as_str()]);
    assert_eq!(all[2].0, base + HOUR + 5);
    let page = store
        .registered_between(base, base + 2 * HOUR, None, 2)
        .await
        .expect("first page");
    assert_eq!(page.len(), 2);
    let rest = store
        .registered_between(base, base + 2 * HOUR, page.last().cloned(), 2)
        .await
        .expect("next page");
    assert_eq!(rest, all[2..]);
}

pub async fn the_sweep_removes_only_devices_never_used(store: Arc<dyn Store>) {
    let base = window_start();
    let subscribed = device_at(&store, base + 1).await;
    subscription(&store, &subscribed).await;
    let unused = device_at(&store, base + 2).await;
    let bridged = device_at(&store, base + HOUR).await;
    let bridge = Bridge::Fcm {
        registration_token: "fcm:token".into(),
        project_id: "my-app".into(),
    };
    store
        .set_bridge(&bridged, Some(&bridge))
        .await
        .expect("bridge");
    let removed = sweep(store.as_ref(), base, base + 2 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(removed, 1);
    assert!(store.device(&unused).await.expect("read").is_none());
    for kept in [&subscribed, &bridged] {
        assert!(
            store.device(kept).await.expect("read").is_some(),
            "{kept} kept"
        );
    }
}
