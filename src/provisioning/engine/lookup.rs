//! Matching: looking objects up in the target by their matching attributes (one at a time or
//! batched), creating, and finding what a create whose answer was lost did.

use super::*;

/// What looking an object up by its matching attributes found.
pub(super) enum Lookup {
    Found(String),
    Missing,
    /// More than one object has the value: "{path} {value}".
    Duplicates(String),
    Failed(ClientError),
}

/// Matches in precedence order: the first matching attribute that finds anything decides. Each
/// lookup and its count is added to `trace`.
pub(super) async fn find_existing(
    target: &Target,
    kind: Kind,
    matching: Vec<(&str, &Value)>,
    trace: &mut Details,
) -> Lookup {
    for (path, value) in matching {
        let text = value.text().unwrap_or_default();
        let found = target.find(kind, path, &text).await;
        if let Ok(list) = &found {
            trace.push((format!("{path} eq {text:?}"), format!("{} found", list.len())));
        }
        match found {
            Ok(list) if list.len() > 1 => return Lookup::Duplicates(format!("{path} {text:?}")),
            Ok(list) => {
                if let Some(id) = list.first().and_then(|x| x.get("id")).and_then(Json::as_str) {
                    return Lookup::Found(id.to_string());
                }
            }
            Err(e) => return Lookup::Failed(e),
        }
    }
    Lookup::Missing
}

/// Looks up the batch's new users (in scope, not yet managed) by their first matching attribute,
/// LOOKUPS_PER_REQUEST values per request instead of one request each. Users it cannot decide
/// for (a complex attribute path, values differing only in case, a paged or failed answer) are
/// left out and looked up one by one; a target that refuses the filter gets single lookups from
/// then on.
pub(super) async fn prefetch(
    ctx: &Ctx,
    work: &[(SourceRow, UserEval, Option<Managed>)],
) -> HashMap<String, Lookup> {
    use std::sync::atomic::Ordering;
    let mut out = HashMap::new();
    if !ctx.caps.filter || ctx.single_lookups.load(Ordering::Relaxed) {
        return out;
    }
    // (path, value, source id) of each new user's first matching attribute.
    let mut wanted: Vec<(&str, String, &str)> = work
        .iter()
        .filter(|(_, eval, managed)| managed.is_none() && eval.in_scope)
        .filter_map(|(row, eval, _)| {
            let list = eval.exported.as_ref().ok()?;
            let (path, value) = ctx.policy.users.matching(list).into_iter().next()?;
            let simple = !path.contains(['.', '[', ':']);
            Some((simple.then_some(path)?, value.text()?, row.user.id.as_str()))
        })
        .collect();
    if wanted.len() < 2 {
        return out;
    }
    wanted.sort();
    let mut rest = wanted.as_slice();
    while let Some((path, ..)) = rest.first() {
        // One request's worth: the same path, within the value and length limits.
        let mut len = 0;
        let n = rest
            .iter()
            .take_while(|(p, v, _)| {
                len += v.len() + p.len() + 12;
                p == path && len <= LOOKUP_URL_CHARS
            })
            .take(LOOKUPS_PER_REQUEST)
            .count()
            .max(1);
        let (chunk, next) = rest.split_at(n);
        rest = next;
        let mut folded: HashMap<String, usize> = HashMap::new();
        for (_, v, _) in chunk {
            *folded.entry(v.to_lowercase()).or_default() += 1;
        }
        let values: Vec<&str> = chunk.iter().map(|(_, v, _)| v.as_str()).collect();
        let list = match ctx.target.find_any(Kind::User, path, &values).await {
            Ok(Some(list)) => list,
            Ok(None) => continue,
            Err(ClientError::Http { status: 400, .. }) => {
                ctx.single_lookups.store(true, Ordering::Relaxed);
                break;
            }
            Err(_) => continue,
        };
        let mut ids: HashMap<String, Vec<String>> = HashMap::new();
        for r in &list {
            let value = r
                .as_object()
                .and_then(|o| crate::scim::resource::get_ci(o, path))
                .and_then(Json::as_str);
            if let (Some(id), Some(value)) = (r.get("id").and_then(Json::as_str), value) {
                ids.entry(value.to_lowercase()).or_default().push(id.to_string());
            }
        }
        for (_, value, source) in chunk {
            let key = value.to_lowercase();
            if folded[&key] > 1 {
                continue;
            }
            let lookup = match ids.get(&key).map(Vec::as_slice) {
                None | Some([]) => Lookup::Missing,
                Some([id]) => Lookup::Found(id.clone()),
                Some(_) => Lookup::Duplicates(format!("{path} {value:?}")),
            };
            out.insert(source.to_string(), lookup);
        }
    }
    out
}

/// Creates an object; when the answer is lost on the way (the target may have created it), looks
/// it up again by its matching attributes before giving up, so a retry never makes a second one.
pub(super) async fn create(
    target: &Target,
    kind: Kind,
    doc: &serde_json::Map<String, Json>,
    matching: Vec<(&str, &Value)>,
) -> Result<String, ClientError> {
    let created = target
        .create(kind, doc)
        .await
        .map(|created| created["id"].as_str().unwrap_or_default().to_string());
    recover_lost_create(target, kind, created, matching).await
}

/// A create whose answer was lost (the target may have made the object) is looked up again by
/// its matching attributes before it counts as failed.
pub(super) async fn recover_lost_create(
    target: &Target,
    kind: Kind,
    created: Result<String, ClientError>,
    matching: Vec<(&str, &Value)>,
) -> Result<String, ClientError> {
    match created {
        Ok(id) => Ok(id),
        Err(e) if e.is_transient() => match find_existing(target, kind, matching, &mut Vec::new()).await {
            Lookup::Found(id) => Ok(id),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}
