//! The behaviour every [`Directory`] must show, as one suite; a backend's
//! test file invokes [`directory_conformance_suite!`] with an async
//! expression that builds it. Node and device ids are fresh per case, so
//! cases share a backend safely.

use std::sync::Arc;
use std::time::Duration;

use super::{Directory, NodeRecord, Route};
use crate::domain::{new_device_id, now_millis};

/// Generates one `#[tokio::test]` per directory conformance case.
#[macro_export]
macro_rules! directory_conformance_suite {
    ($make_directory:expr) => {
        $crate::directory_conformance_suite!(@cases $make_directory;
            nodes_join_and_leave, nodes_expire_without_heartbeats,
            the_newest_claim_wins_in_any_order, release_removes_only_its_own_claim);
    };
    (@cases $make_directory:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let directory: std::sync::Arc<dyn $crate::cluster::Directory> = $make_directory.await;
                $crate::cluster::conformance::$case(directory).await;
            }
        )+
    };
}

fn node(name: &str) -> NodeRecord {
    NodeRecord {
        node_id: format!("{name}-{}", new_device_id()),
        address: format!("127.0.0.1:{}", 1000 + name.len()),
    }
}

fn route(device_id: &str, node: &NodeRecord, claimed_at_micros: i64) -> Route {
    Route {
        device_id: device_id.to_string(),
        node_id: node.node_id.clone(),
        address: node.address.clone(),
        claimed_at_micros,
    }
}

async fn is_live(directory: &Arc<dyn Directory>, node: &NodeRecord) -> bool {
    let nodes = directory.live_nodes().await.expect("live nodes");
    nodes.contains(node)
}

pub async fn nodes_join_and_leave(directory: Arc<dyn Directory>) {
    let (a, b) = (node("a"), node("b"));
    let ttl = Duration::from_secs(60);
    directory.heartbeat(&a, ttl).await.expect("heartbeat a");
    directory.heartbeat(&b, ttl).await.expect("heartbeat b");
    directory
        .heartbeat(&a, ttl)
        .await
        .expect("heartbeat a again");
    assert!(is_live(&directory, &a).await && is_live(&directory, &b).await);
    directory.remove_node(&a.node_id).await.expect("remove a");
    assert!(!is_live(&directory, &a).await, "a left");
    assert!(is_live(&directory, &b).await, "b stays");
    directory.remove_node(&b.node_id).await.expect("remove b");
}

pub async fn nodes_expire_without_heartbeats(directory: Arc<dyn Directory>) {
    let quiet = node("quiet");
    directory
        .heartbeat(&quiet, Duration::from_secs(1))
        .await
        .expect("heartbeat");
    assert!(is_live(&directory, &quiet).await);
    // Expiry is the backend's clock, not ours: poll rather than assert a time.
    for _ in 0..100 {
        if !is_live(&directory, &quiet).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a node without heartbeats was still listed 10 s after its 1 s TTL");
}

pub async fn the_newest_claim_wins_in_any_order(directory: Arc<dyn Directory>) {
    let (a, b, c) = (node("a"), node("b"), node("c"));
    let device = new_device_id();
    let start = now_millis() * 1000;
    assert_eq!(directory.route(&device).await.expect("route"), None);
    let first = route(&device, &a, start);
    assert_eq!(directory.claim(&first).await.expect("claim a"), None);
    let second = route(&device, &b, start + 10);
    assert_eq!(
        directory.claim(&second).await.expect("claim b"),
        Some(first.clone()),
        "a claim reports the route it replaced"
    );
    // An older claim landing late (a slow node) must not take the device back.
    directory
        .claim(&route(&device, &c, start + 5))
        .await
        .expect("late claim");
    assert_eq!(directory.route(&device).await.expect("route"), Some(second));
}

pub async fn release_removes_only_its_own_claim(directory: Arc<dyn Directory>) {
    let (a, b) = (node("a"), node("b"));
    let device = new_device_id();
    let start = now_millis() * 1000;
    let old = route(&device, &a, start);
    let new = route(&device, &b, start + 1);
    directory.claim(&old).await.expect("claim old");
    directory.claim(&new).await.expect("claim new");
    // The old stream ends after the device moved: the new route stays.
    directory.release(&old).await.expect("release old");
    assert_eq!(
        directory.route(&device).await.expect("route"),
        Some(new.clone())
    );
    directory.release(&new).await.expect("release new");
    assert_eq!(directory.route(&device).await.expect("route"), None);
}
