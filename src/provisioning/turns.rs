//! One at a time per application: previews and drift reports read the same application within
//! the same rate limit, so a second one waits for the first instead of adding up against it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One lock per application asked about (a handful of entries).
static TURNS: Mutex<Option<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = Mutex::new(None);

/// Waits until no other preview or drift report of `app` runs; held while this one runs.
pub async fn wait(app: &str) -> tokio::sync::OwnedMutexGuard<()> {
    let lock = {
        let mut map = TURNS.lock().unwrap_or_else(|p| p.into_inner());
        map.get_or_insert_with(HashMap::new)
            .entry(app.to_string())
            .or_default()
            .clone()
    };
    lock.lock_owned().await
}
