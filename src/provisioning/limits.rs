//! Each application's requests-per-second limit, shared by its cycles and provision on demand in
//! this process, so running both at once still keeps to the limit.

use crate::scim_client::{limiter, Limiter};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

static LIMITERS: LazyLock<Mutex<HashMap<String, (i64, Limiter)>>> = LazyLock::new(Default::default);

/// The limiter of `app` at `per_second` (None for no limit); a changed setting starts a new one.
pub fn for_app(app: &str, per_second: i64) -> Option<Limiter> {
    let mut all = LIMITERS.lock().unwrap_or_else(|e| e.into_inner());
    if per_second <= 0 {
        all.remove(app);
        return None;
    }
    if let Some((rate, l)) = all.get(app) {
        if *rate == per_second {
            return Some(l.clone());
        }
    }
    let l = limiter(u32::try_from(per_second).unwrap_or(u32::MAX))?;
    all.insert(app.to_string(), (per_second, l.clone()));
    Some(l)
}
