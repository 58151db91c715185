//! Scheduled bridge wake-ups. Other cases (or, on a shared CQL keyspace,
//! other runs) may hold wake-ups too, so each check looks at its own ids,
//! and the claim times only move forward, as a node's clock does.

use super::*;
use crate::domain::WakeUp;

const MINUTE: i64 = 60_000;

fn wake_up(device_id: &str, due_at: i64) -> WakeUp {
    WakeUp {
        device_id: device_id.into(),
        message_id: new_message_id(),
        due_at,
    }
}

/// Claims at `now` (leasing until `lease_until`) and keeps the ones in `mine`.
async fn claim_mine(
    store: &Arc<dyn Store>,
    now: i64,
    lease_until: i64,
    limit: usize,
    mine: &[&WakeUp],
) -> Vec<WakeUp> {
    let claimed = store
        .claim_wake_ups(now, lease_until, limit)
        .await
        .expect("claim");
    assert!(claimed.len() <= limit, "claimed more than asked");
    claimed
        .into_iter()
        .filter(|taken| mine.iter().any(|own| own.message_id == taken.message_id))
        .collect()
}

pub async fn wake_ups_come_due_are_leased_and_finish(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let base = now_millis();
    let first = wake_up(&device_id, base - 2_000);
    let second = wake_up(&device_id, base - 1_000);
    let later = wake_up(&device_id, base + HOUR);
    for scheduled in [&later, &second, &first] {
        store.schedule_wake_up(scheduled).await.expect("schedule");
    }
    let mine = [&first, &second, &later];

    let lease = base + 10 * MINUTE;
    let claimed = claim_mine(&store, base, lease, 1_000, &mine).await;
    let leased = |wake_up: &WakeUp, due_at| WakeUp {
        due_at,
        ..wake_up.clone()
    };
    assert_eq!(
        claimed,
        [leased(&first, lease), leased(&second, lease)],
        "the due ones, soonest first, moved to their lease"
    );
    assert!(
        claim_mine(&store, base + 1, lease, 1_000, &mine)
            .await
            .is_empty(),
        "a leased wake-up is not handed out again while its lease runs"
    );

    // The node that took them died: when the lease ends they are due again.
    let relet = lease + 10 * MINUTE;
    let again = claim_mine(&store, lease, relet, 1_000, &mine).await;
    assert_eq!(again, [leased(&first, relet), leased(&second, relet)]);
    // Finishing as first handed out touches nothing: the lease moved on.
    store
        .finish_wake_up(&claimed[0])
        .await
        .expect("stale finish");
    for done in &again {
        store.finish_wake_up(done).await.expect("finish");
    }

    let end = base + 2 * HOUR;
    let claimed = claim_mine(&store, end, end + HOUR, 1_000, &mine).await;
    assert_eq!(
        claimed,
        [leased(&later, end + HOUR)],
        "only the later one is left"
    );
    store.finish_wake_up(&claimed[0]).await.expect("finish");
    assert!(
        claim_mine(&store, end + 2 * HOUR, end + 3 * HOUR, 1_000, &mine)
            .await
            .is_empty(),
        "finished wake-ups are gone"
    );

    // A claim takes at most `limit`; the rest stay for the next one.
    let now = end + 3 * HOUR;
    let batch: Vec<WakeUp> = (0..3)
        .map(|step| wake_up(&device_id, now - 3 + step))
        .collect();
    for scheduled in &batch {
        store.schedule_wake_up(scheduled).await.expect("schedule");
    }
    let batch_refs: Vec<&WakeUp> = batch.iter().collect();
    let mut taken = Vec::new();
    for _ in 0..10 {
        let claimed = claim_mine(&store, now, now + HOUR, 2, &batch_refs).await;
        taken.extend(claimed);
        if taken.len() >= batch.len() {
            break;
        }
    }
    let mut ids: Vec<&str> = taken
        .iter()
        .map(|taken| taken.message_id.as_str())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = batch.iter().map(|own| own.message_id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "every wake-up taken exactly once");
    for done in &taken {
        store.finish_wake_up(done).await.expect("finish");
    }
}
