//! The refetch rules on paused time: a stand-in provider on loopback counts
//! the fetches, and the clock is moved past the spacing and the refresh
//! interval instead of slept through.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::*;

/// Serves a JWKS document naming `kids`, which the test may change.
struct Provider {
    url: String,
    kids: Arc<Mutex<Vec<&'static str>>>,
    fetches: Arc<AtomicUsize>,
}

impl Provider {
    async fn start(kids: &[&'static str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
        let kids = Arc::new(Mutex::new(kids.to_vec()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (kids.clone(), fetches.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                counted.fetch_add(1, Ordering::SeqCst);
                let body = document(&served.lock());
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        Self { url, kids, fetches }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn document(kids: &[&str]) -> String {
    let keys: Vec<_> = kids
        .iter()
        .map(|kid| {
            serde_json::json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            })
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}

/// Moves tokio's clock on without waiting; real time carries on after.
async fn pass(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    tokio::time::resume();
}

#[tokio::test]
async fn an_unknown_key_id_refetches_at_most_once_per_spacing() {
    let provider = Provider::start(&["old"]).await;
    let cache = JwksCache::load(&provider.url).await.expect("load");
    assert_eq!(provider.fetches(), 1);
    assert!(cache.key("old").await.is_ok());

    // The provider rotates; within the spacing a flood of unknown ids costs
    // it nothing more.
    provider.kids.lock().push("new");
    for _ in 0..50 {
        assert_eq!(cache.key("bogus").await.err(), Some(KeyError::Unknown));
    }
    assert_eq!(provider.fetches(), 1, "asked again within MIN_REFETCH");

    pass(MIN_REFETCH).await;
    assert!(
        cache.key("new").await.is_ok(),
        "the new key after the spacing"
    );
    assert_eq!(provider.fetches(), 2);
    assert_eq!(cache.key("bogus").await.err(), Some(KeyError::Unknown));
    assert_eq!(provider.fetches(), 2, "the spacing starts again");
}

#[tokio::test]
async fn held_keys_are_refreshed_when_stale_and_kept_through_an_outage() {
    let provider = Provider::start(&["a"]).await;
    let cache = JwksCache::load(&provider.url).await.expect("load");
    pass(MIN_REFETCH).await;
    assert!(cache.key("a").await.is_ok());
    assert_eq!(provider.fetches(), 1, "fresh and found: no fetch");

    pass(REFRESH_EVERY).await;
    assert!(cache.key("a").await.is_ok());
    assert_eq!(
        provider.fetches(),
        2,
        "stale after REFRESH_EVERY: refetched"
    );

    // An outage: the address now refuses; the held key still answers, and
    // a key that is not held is unavailable rather than unknown.
    let dead = JwksCache {
        url: "http://127.0.0.1:9/jwks".into(),
        ..cache
    };
    pass(REFRESH_EVERY).await;
    assert!(
        dead.key("a").await.is_ok(),
        "held keys survive a failed refresh"
    );
    assert_eq!(dead.key("b").await.err(), Some(KeyError::Unavailable));
}
