//! Mobile push bridges, and messages fetched by id (the bridge wake-up path).

use super::*;
use crate::domain::Bridge;

fn apns(token: &str) -> Bridge {
    Bridge::Apns {
        device_token: token.into(),
        topic: "com.example.app".into(),
        sandbox: true,
    }
}

pub async fn bridges_are_set_replaced_and_removed(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    assert_eq!(store.bridge(&device_id).await.expect("read"), None);
    store
        .set_bridge(&device_id, Some(&apns("a1b2")))
        .await
        .expect("set");
    assert_eq!(
        store.bridge(&device_id).await.expect("read"),
        Some(apns("a1b2"))
    );
    let fcm = Bridge::Fcm {
        registration_token: "fcm:token".into(),
        project_id: "my-app".into(),
    };
    store
        .set_bridge(&device_id, Some(&fcm))
        .await
        .expect("replace");
    assert_eq!(store.bridge(&device_id).await.expect("read"), Some(fcm));
    let other = device(&store).await;
    assert_eq!(
        store.bridge(&other).await.expect("read"),
        None,
        "per device"
    );
    store.set_bridge(&device_id, None).await.expect("remove");
    assert_eq!(store.bridge(&device_id).await.expect("read"), None);
}

pub async fn forgetting_a_token_spares_a_newer_one(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    store
        .set_bridge(&device_id, Some(&apns("0ld0")))
        .await
        .expect("set");
    store
        .set_bridge(&device_id, Some(&apns("9e39")))
        .await
        .expect("newer token");
    // The provider rejected the old token after the app registered a new one.
    assert!(
        !store
            .forget_bridge_token(&device_id, "0ld0")
            .await
            .expect("forget")
    );
    assert_eq!(
        store.bridge(&device_id).await.expect("read"),
        Some(apns("9e39"))
    );
    assert!(
        store
            .forget_bridge_token(&device_id, "9e39")
            .await
            .expect("forget")
    );
    assert_eq!(store.bridge(&device_id).await.expect("read"), None);
    assert!(
        !store
            .forget_bridge_token(&device_id, "9e39")
            .await
            .expect("again")
    );
}

pub async fn messages_by_id_are_this_devices_unexpired_ones(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let ids = enqueue_many(&store, &device_id, &subscription_id, 3).await;
    let short = message(&device_id, &subscription_id, now_millis() + 1_000);
    store.enqueue(short.clone(), ROOMY).await.expect("enqueue");
    let other_device = device(&store).await;
    let other_subscription = subscription(&store, &other_device).await;
    let foreign = enqueue_many(&store, &other_device, &other_subscription, 1).await;

    let asked = vec![
        ids[2].clone(),
        foreign[0].clone(),
        ids[0].clone(),
        new_message_id(),
        short.id.clone(),
    ];
    let found: Vec<String> = store
        .messages(&device_id, &asked, now_millis())
        .await
        .expect("messages")
        .into_iter()
        .map(|message| message.id)
        .collect();
    assert_eq!(found, [ids[0].clone(), ids[2].clone(), short.id.clone()]);
    let later = now_millis() + 10_000;
    let found = store
        .messages(&device_id, &asked, later)
        .await
        .expect("messages");
    assert_eq!(found.len(), 2, "expired ones are left out");
    assert_eq!(found[0].payload, vec![0xAB; 100]);
}
