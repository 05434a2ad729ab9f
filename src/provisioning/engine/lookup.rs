//! Matching: looking objects up in the target by their matching attributes (one at a time or
//! batched), creating, and finding what a create whose answer was lost did.

use super::*;
use crate::scim::eval;
use crate::scim::filter::Filter;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::OnceCell;

/// What looking an object up by its matching attributes found.
pub(super) enum Lookup {
    /// The account's id and the account as the target answered.
    Found(String, Json),
    Missing,
    /// More than one object has the value: "{path} {value}".
    Duplicates(String),
    Failed(ClientError),
}

/// How this cycle's lookups are answered. A target that filters answers them; every answer is
/// checked against the filter sent, and a target caught answering with resources that do not
/// match (it ignores `filter`), or that says it cannot filter, is matched locally from a paged
/// read of everything it holds from then on. A lookup answer is never trusted blindly: an
/// account that does not hold the matching value is never taken for the object.
#[derive(Default)]
pub(super) struct Matcher {
    /// Lookups are answered locally (the target cannot filter, or was caught ignoring filters).
    local: AtomicBool,
    users: OnceCell<Result<Arc<Vec<Json>>, ClientError>>,
    groups: OnceCell<Result<Arc<Vec<Json>>, ClientError>>,
}

/// Most resources read to match locally; a target that ignores filters and holds more cannot be
/// matched safely (and is not matched at all).
pub(super) const MAX_LOCAL_MATCH: usize = 200_000;
/// Resources asked for per page of the local read.
const LOCAL_PAGE: usize = 200;

impl Matcher {
    pub(super) fn new(filter_supported: bool) -> Matcher {
        Matcher {
            local: AtomicBool::new(!filter_supported),
            ..Matcher::default()
        }
    }

    /// Whether lookups are answered locally.
    pub(super) fn local(&self) -> bool {
        self.local.load(Ordering::Relaxed)
    }

    /// The target did not answer the lookup of one of its own accounts with that account alone
    /// (it answered nothing, as some do for what they cannot evaluate, or others too).
    fn caught_not_filtering(&self, app: &str, path: &str) {
        if !self.local.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                app = %app,
                "the application did not answer the lookup of one of its own accounts by {path} with that \
                 account: it does not evaluate filters, so this cycle matches against a full read of its accounts"
            );
        }
    }

    /// The target answered a filter with resources that do not match it.
    fn caught_ignoring(&self, app: &str, path: &str) {
        if !self.local.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                app = %app,
                "the application answered a lookup ({path} eq ...) with accounts that do not match it: \
                 it ignores filters, so this cycle matches against a full read of its accounts"
            );
        }
    }

    /// Everything the target holds of `kind`, read once per cycle.
    async fn all(&self, ctx: &Ctx, kind: Kind) -> Result<Arc<Vec<Json>>, ClientError> {
        let cell = match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        };
        cell.get_or_init(|| read_all(ctx, kind)).await.clone()
    }
}

/// Reads every resource of `kind` page by page. A target whose paging repeats itself or stops
/// short of the total it reported cannot be matched against safely: that is an error, not a
/// shorter list.
pub(super) async fn read_all(ctx: &Ctx, kind: Kind) -> Result<Arc<Vec<Json>>, ClientError> {
    let mut out: Vec<Json> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        let (page, total) = page(ctx, kind, out.len() + 1, LOCAL_PAGE).await?;
        let before = out.len();
        for r in page {
            let id = r.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
            if seen.insert(id) {
                out.push(r);
            }
        }
        if out.len() > MAX_LOCAL_MATCH {
            return Err(ClientError::Incompatible(format!(
                "the application ignores filters and holds more than {MAX_LOCAL_MATCH} {}: they cannot be matched safely",
                kind.endpoint()
            )));
        }
        let complete = total.is_none_or(|t| out.len() as u64 >= t);
        if out.len() == before {
            if !complete {
                return Err(ClientError::Incompatible(format!(
                    "the application's paging of {} stopped at {} of the {} it reported: its accounts cannot be matched safely",
                    kind.endpoint(),
                    out.len(),
                    total.unwrap_or_default()
                )));
            }
            return Ok(Arc::new(out));
        }
        if complete && total.is_some() {
            return Ok(Arc::new(out));
        }
    }
}

/// A page of the target's `kind`, `count` long; where the target refuses `count` (400, 500, 501),
/// the page it chooses, from then on (remembered).
async fn page(
    ctx: &Ctx,
    kind: Kind,
    start: usize,
    count: usize,
) -> Result<(Vec<Json>, Option<u64>), ClientError> {
    if ctx.learned.has(Adaptation::PagesWithoutCount) {
        return ctx.target.page(kind, start, None).await;
    }
    match ctx.target.page(kind, start, Some(count)).await {
        Err(
            e @ ClientError::Http {
                status: 400 | 500 | 501,
                ..
            },
        ) if ctx.learned.allowed(Adaptation::PagesWithoutCount) => {
            let answer = ctx.target.page(kind, start, None).await?;
            let reason = format!("a page with count was answered: {e}");
            if ctx.learned.learn(Adaptation::PagesWithoutCount, reason) {
                tracing::warn!(app = %ctx.app, "the application refused count in a list ({e}): lists are read in the pages it chooses");
            }
            Ok(answer)
        }
        other => other,
    }
}

/// Before an initial cycle trusts the target's lookups by `path` (a top-level attribute): one
/// of its own accounts, looked up by its own value, must come back. A target that answers with
/// nothing does not evaluate the filter (some answer 200 with no results to what they cannot
/// evaluate) and would have every account it holds created again; it is matched locally, and
/// that is remembered. Costs two requests per initial cycle; an empty target needs no probe.
pub(super) async fn probe_filters(ctx: &Ctx, kind: Kind, path: &str) {
    if ctx.matcher.local()
        || path.contains(['[', '.', ':'])
        || !ctx.learned.allowed(Adaptation::IgnoresFilters)
    {
        return;
    }
    let Ok((first, _)) = page(ctx, kind, 1, 1).await else {
        return;
    };
    let Some(account) = first.first().and_then(Json::as_object) else {
        return;
    };
    // An error here shows again, and is reported, at the cycle's own lookups.
    let reason = match ctx.target.check_filter(kind, path, account).await {
        Some(Ok(FilterCheck::NotEvaluated)) => {
            format!("the lookup of one of its accounts by its own {path} found nothing")
        }
        Some(Ok(FilterCheck::Ignored(n))) => {
            format!("the lookup of one of its accounts by its own {path} answered {n} accounts")
        }
        _ => return,
    };
    ctx.matcher.caught_not_filtering(&ctx.app, path);
    ctx.learned.learn(Adaptation::IgnoresFilters, reason);
}

/// `path eq "value"` as a filter the answer can be checked against.
fn eq_filter(path: &str, value: &str) -> Option<Filter> {
    let quoted = serde_json::to_string(value).ok()?;
    crate::scim::filter::parse(&format!("{path} eq {quoted}")).ok()
}

/// Matches in precedence order: the first matching attribute that finds anything decides. Each
/// lookup and its count is added to `trace`. Only accounts that hold the value count, whatever
/// the target answered.
pub(super) async fn find_existing(
    ctx: &Ctx,
    kind: Kind,
    matching: Vec<(&str, &Value)>,
    trace: &mut Details,
) -> Lookup {
    for (path, value) in matching {
        let text = value.text().unwrap_or_default();
        let Some(filter) = eq_filter(path, &text) else {
            return Lookup::Failed(ClientError::Incompatible(format!(
                "{path} cannot be used to match: it is not a SCIM attribute path"
            )));
        };
        let mut found = match ctx.matcher.local() {
            true => Err(None),
            false => ctx.target.find(kind, path, &text).await.map_err(Some),
        };
        if let Ok(list) = &mut found {
            if !ctx.learned.allowed(Adaptation::IgnoresFilters) {
                // The admin chose to trust its lookups: only what does not hold the value is
                // left out.
                list.retain(|r| eval::matches(kind, &filter, r));
            } else if list.iter().any(|r| !eval::matches(kind, &filter, r)) {
                ctx.matcher.caught_ignoring(&ctx.app, path);
                ctx.learned.learn(
                    Adaptation::IgnoresFilters,
                    format!("a lookup by {path} was answered with accounts that do not match it"),
                );
                found = Err(None);
            }
        }
        let found = match found {
            Ok(list) => {
                trace.push((format!("{path} eq {text:?}"), format!("{} found", list.len())));
                list
            }
            Err(Some(e)) => return Lookup::Failed(e),
            Err(None) => match locally(ctx, kind, &filter, path, &text, trace).await {
                Ok(list) => list,
                Err(e) => return Lookup::Failed(e),
            },
        };
        if let Some(decided) = decide(found, path, &text) {
            return decided;
        }
    }
    Lookup::Missing
}

/// The accounts of a full read of the target that hold `path eq text`, noted in `trace`.
async fn locally(
    ctx: &Ctx,
    kind: Kind,
    filter: &Filter,
    path: &str,
    text: &str,
    trace: &mut Details,
) -> Result<Vec<Json>, ClientError> {
    let all = ctx.matcher.all(ctx, kind).await?;
    let list: Vec<Json> = all
        .iter()
        .filter(|r| eval::matches(kind, filter, r))
        .cloned()
        .collect();
    trace.push((
        format!("{path} eq {text:?}"),
        format!(
            "{} found among the application's {} accounts (matched here, from a full read)",
            list.len(),
            all.len()
        ),
    ));
    Ok(list)
}

/// What one matching attribute's answer decides: several accounts, one, or nothing yet (None:
/// the next matching attribute decides).
fn decide(found: Vec<Json>, path: &str, text: &str) -> Option<Lookup> {
    if found.len() > 1 {
        return Some(Lookup::Duplicates(format!("{path} {text:?}")));
    }
    let r = found.into_iter().next()?;
    let id = r.get("id").and_then(Json::as_str)?.to_string();
    Some(Lookup::Found(id, r))
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
    let mut out = HashMap::new();
    if ctx.matcher.local() || ctx.learned.has(Adaptation::SingleLookups) {
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
            Err(e @ ClientError::Http { status: 400, .. }) => {
                let reason = format!("a lookup of several values was answered: {e}");
                if ctx.learned.learn(Adaptation::SingleLookups, reason) {
                    tracing::warn!(app = %ctx.app, "the application refused a lookup of several values at once: it is looked up one value at a time");
                }
                break;
            }
            Err(_) => continue,
        };
        let mut ids: HashMap<String, Vec<(String, Json)>> = HashMap::new();
        let mut strangers = false;
        for r in &list {
            let value = r
                .as_object()
                .and_then(|o| crate::scim::resource::get_ci(o, path))
                .and_then(Json::as_str);
            match (r.get("id").and_then(Json::as_str), value) {
                (Some(id), Some(value)) if folded.contains_key(&value.to_lowercase()) => {
                    ids.entry(value.to_lowercase())
                        .or_default()
                        .push((id.to_string(), r.clone()));
                }
                _ => strangers = true,
            }
        }
        if strangers && !ctx.learned.allowed(Adaptation::IgnoresFilters) {
            // The admin chose to trust its lookups: these users are looked up one at a time,
            // each answer checked.
            break;
        }
        if strangers {
            // Answered with accounts the filter does not select: nothing in this answer (nor in
            // a later one) is trusted; every user is matched one at a time, locally.
            ctx.matcher.caught_ignoring(&ctx.app, path);
            ctx.learned.learn(
                Adaptation::IgnoresFilters,
                format!("a lookup by {path} was answered with accounts that do not match it"),
            );
            break;
        }
        for (_, value, source) in chunk {
            let key = value.to_lowercase();
            if folded[&key] > 1 {
                continue;
            }
            let lookup = match ids.get(&key).map(Vec::as_slice) {
                None | Some([]) => Lookup::Missing,
                Some([(id, r)]) => Lookup::Found(id.clone(), r.clone()),
                Some(_) => Lookup::Duplicates(format!("{path} {value:?}")),
            };
            out.insert(source.to_string(), lookup);
        }
    }
    out
}

/// A uniqueness conflict: the target says the object exists.
pub(super) fn conflict(e: &ClientError) -> bool {
    matches!(e, ClientError::Http { status: 409, .. })
}

/// Looks an object up after the target answered its create with a conflict: as any lookup, then,
/// when that finds nothing, in a full read of the target (whose filters may leave out inactive
/// accounts that its listing shows).
pub(super) async fn find_after_conflict(
    ctx: &Ctx,
    kind: Kind,
    matching: Vec<(&str, &Value)>,
    trace: &mut Details,
) -> Lookup {
    match find_existing(ctx, kind, matching.clone(), trace).await {
        Lookup::Missing if !ctx.matcher.local() => {
            for (path, value) in matching {
                let text = value.text().unwrap_or_default();
                let Some(filter) = eq_filter(path, &text) else {
                    continue;
                };
                match locally(ctx, kind, &filter, path, &text, trace).await {
                    Ok(found) => {
                        if let Some(decided) = decide(found, path, &text) {
                            return decided;
                        }
                    }
                    Err(e) => return Lookup::Failed(e),
                }
            }
            Lookup::Missing
        }
        other => other,
    }
}

/// Creates an object; when the answer is lost on the way (the target may have created it), looks
/// it up again by its matching attributes before giving up, so a retry never makes a second one.
pub(super) async fn create(
    ctx: &Ctx,
    kind: Kind,
    doc: &serde_json::Map<String, Json>,
    matching: Vec<(&str, &Value)>,
) -> Result<String, ClientError> {
    create_returning(ctx, kind, doc, matching).await.map(|(id, _)| id)
}

/// [`create`], with the resource as the target answered it (None when it was found by a lookup
/// after a lost answer).
pub(super) async fn create_returning(
    ctx: &Ctx,
    kind: Kind,
    doc: &serde_json::Map<String, Json>,
    matching: Vec<(&str, &Value)>,
) -> Result<(String, Option<Json>), ClientError> {
    match ctx.target.create(kind, doc).await {
        Ok(created) => Ok((
            created["id"].as_str().unwrap_or_default().to_string(),
            Some(created),
        )),
        Err(e) => recover_lost_create(ctx, kind, Err(e), doc, matching)
            .await
            .map(|id| (id, None)),
    }
}

/// A create that failed in a way that may have created the object anyway (a 5xx, a lost
/// answer) is looked up again by its matching attributes before it counts as failed. Confirmed
/// absent, it is sent once more now rather than left in escrow for hours: nothing can be
/// duplicated by repeating a create that certainly did not happen.
pub(super) async fn recover_lost_create(
    ctx: &Ctx,
    kind: Kind,
    created: Result<String, ClientError>,
    doc: &serde_json::Map<String, Json>,
    matching: Vec<(&str, &Value)>,
) -> Result<String, ClientError> {
    let e = match created {
        Ok(id) => return Ok(id),
        Err(e) if e.is_transient() => e,
        Err(e) => return Err(e),
    };
    match find_existing(ctx, kind, matching.clone(), &mut Vec::new()).await {
        Lookup::Found(id, _) => Ok(id),
        Lookup::Missing => {
            let again = ctx
                .target
                .create(kind, doc)
                .await
                .map(|created| created["id"].as_str().unwrap_or_default().to_string());
            match again {
                Ok(id) => Ok(id),
                // Lost again: whatever happened is found by the next cycle's match.
                Err(e) if e.is_transient() => match find_existing(ctx, kind, matching, &mut Vec::new()).await
                {
                    Lookup::Found(id, _) => Ok(id),
                    _ => Err(e),
                },
                Err(e) => Err(e),
            }
        }
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_counts_only_where_the_account_holds_the_value() {
        let alice = json!({
            "id": "1",
            "userName": "Alice@Contoso.com",
            "externalId": "alice",
            "emails": [{"type": "work", "value": "alice@contoso.com"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42"},
        });
        let admin = json!({"id": "2", "userName": "admin", "externalId": "Alice"});
        let holds = |path: &str, value: &str, r: &Json| {
            eval::matches(Kind::User, &eq_filter(path, value).unwrap(), r)
        };
        // userName compares without case (RFC 7643), externalId exactly.
        assert!(holds("userName", "alice@contoso.com", &alice));
        assert!(!holds("userName", "alice@contoso.com", &admin));
        assert!(holds("externalId", "alice", &alice));
        assert!(!holds("externalId", "alice", &admin));
        // The paths mappings match on.
        assert!(holds(
            r#"emails[type eq "work"].value"#,
            "alice@contoso.com",
            &alice
        ));
        assert!(!holds(
            r#"emails[type eq "work"].value"#,
            "alice@contoso.com",
            &admin
        ));
        let employee = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
        assert!(holds(employee, "42", &alice));
        assert!(!holds(employee, "42", &admin));
        // A value with quotes and backslashes is a value, not filter syntax.
        assert!(!holds("userName", r#"x" or userName pr or "y"#, &admin));
    }
}
