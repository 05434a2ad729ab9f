//! Lists and searches: parameters, the index's answer or a bounded scan, sorting and paging.

use super::*;

/// List parameters from a query string or a SearchRequest body.
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub start_index: i64,
    pub count: Option<i64>,
    pub attributes: Vec<AttrSel>,
    pub excluded: Vec<AttrSel>,
}

fn int_param(name: &str, v: &Value) -> ScimResult<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer")))
}

impl ListParams {
    /// From query parameters (names case-insensitive; unknown ones such as Entra's
    /// `aadOptscim062020` ignored).
    pub fn from_query(pairs: &[(String, String)]) -> ScimResult<ListParams> {
        let mut body = Map::new();
        for (k, v) in pairs {
            body.insert(k.clone(), Value::String(v.clone()));
        }
        Self::from_body(&Value::Object(body))
    }

    pub fn from_body(body: &Value) -> ScimResult<ListParams> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::bad(ScimType::InvalidSyntax, "a search request must be a JSON object")
        })?;
        let get = |k: &str| resource::get_ci(obj, k).filter(|v| !v.is_null());
        let text = |k: &str| -> ScimResult<Option<String>> {
            match get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
            }
        };
        let list = |k: &str| -> ScimResult<Vec<AttrSel>> {
            match get(k) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => AttrSel::parse_list(s),
                Some(Value::Array(items)) => {
                    let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    AttrSel::parse_list(&joined.join(","))
                }
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{k} must be a list of attribute names"
                ))),
            }
        };
        let descending = match text("sortOrder")?.map(|s| s.to_ascii_lowercase()) {
            None => false,
            Some(s) if s == "ascending" || s.is_empty() => false,
            Some(s) if s == "descending" => true,
            Some(_) => {
                return Err(ScimError::invalid_value(
                    "sortOrder must be ascending or descending",
                ))
            }
        };
        Ok(ListParams {
            filter: text("filter")?.filter(|f| !f.trim().is_empty()),
            sort_by: text("sortBy")?.filter(|s| !s.trim().is_empty()),
            descending,
            start_index: match get("startIndex") {
                Some(v) => int_param("startIndex", v)?.max(1),
                None => 1,
            },
            count: get("count").map(|v| int_param("count", v)).transpose()?,
            attributes: list("attributes")?,
            excluded: list("excludedAttributes")?,
        })
    }

    fn page_size(&self) -> usize {
        match self.count {
            Some(c) => c.clamp(0, schema::MAX_RESULTS as i64) as usize,
            None => schema::DEFAULT_COUNT,
        }
    }
}

pub fn parse_filter(s: &str) -> ScimResult<Filter> {
    filter::parse(s).map_err(|e| {
        let t = if e.message.contains("longer than") || e.message.contains("nested more than") {
            ScimType::TooMany
        } else {
            ScimType::InvalidFilter
        };
        ScimError::bad(t, format!("the filter is not valid: {e}"))
    })
}

pub struct Page {
    pub total: usize,
    pub start_index: i64,
    pub resources: Vec<Value>,
}

impl Page {
    pub fn body(&self) -> Value {
        json!({
            "schemas": [schema::LIST_RESPONSE],
            "totalResults": self.total,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

/// Lists resources: SQL does the filtering, ordering and paging when the filter translates
/// exactly; otherwise the candidates stream through the evaluator and only the page is kept.
pub async fn list(ctx: &Ctx<'_>, kind: Kind, p: &ListParams) -> ScimResult<Page> {
    let filter = p.filter.as_deref().map(parse_filter).transpose()?;
    let sort_path = match &p.sort_by {
        Some(s) => Some(
            filter::parse_attr_path(s.trim())
                .ok_or_else(|| ScimError::invalid_value(format!("sortBy {s:?} is not an attribute name")))?,
        ),
        None => None,
    };
    let plan = match &filter {
        Some(f) => query::plan(kind, f),
        None => query::Plan {
            cond: None,
            exact: true,
        },
    };
    let computed_name = if kind == Kind::User { "groups" } else { "members" };
    let want_computed = resource::wants(kind, &p.attributes, &p.excluded, computed_name);
    let size = p.page_size();
    let offset = (p.start_index - 1) as usize;
    let sql_order = query::order(kind, sort_path.as_ref(), p.descending);
    let t = table(kind);

    let (total, mut resources) = match (plan.exact, sql_order) {
        (true, Some(order)) => {
            let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
            let rows = if size == 0 {
                Vec::new()
            } else {
                candidates(&mut conn, ctx, t, &plan, Some(order), size, offset).await?
            };
            // A first page that is not full is everything there is (every lookup by userName or
            // externalId): no need to count.
            let total = if offset == 0 && size > 0 && rows.len() < size {
                rows.len()
            } else {
                store::count(&mut conn, t, ctx.account, plan.cond.as_ref())
                    .await
                    .map_err(db_err)? as usize
            };
            (
                total,
                render_all(ctx, &mut conn, kind, &rows, want_computed).await?,
            )
        }
        (_, order) => {
            scan(
                ctx,
                kind,
                p,
                filter.as_ref(),
                &plan,
                order,
                sort_path.as_ref(),
                want_computed,
            )
            .await?
        }
    };
    for r in resources.iter_mut() {
        if !want_computed {
            if let Some(o) = r.as_object_mut() {
                o.remove(computed_name);
            }
        }
        resource::project(kind, r, &p.attributes, &p.excluded);
    }
    Ok(Page {
        total,
        start_index: p.start_index,
        resources,
    })
}

/// Candidates a list may examine in Rust when its filter is not answered by the index, by default
/// (`serve --scim-scan-limit`); past it the request gets `400 tooMany` (RFC 7644 3.12) asking for a
/// narrower filter.
pub const MAX_EXAMINED: usize = 100_000;
/// Matches a `sortBy` the index cannot order may sort in memory.
pub const MAX_SORTED: usize = 10_000;
/// Candidates read and rendered per step of a scan, each step on a connection of its own.
const SCAN_CHUNK: usize = 500;
/// Scans (lists not answered by the index) running at once, server-wide: each keeps a core busy
/// and a connection for a moment at a time, so lookups, the console and the engine keep theirs.
const CONCURRENT_SCANS: usize = 2;
static SCANS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_SCANS);
const SCAN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The candidates of a scan from `offset` on, at most `limit`, in the scan's order.
async fn candidates(
    conn: &mut crate::db::Conn,
    ctx: &Ctx<'_>,
    t: Table,
    plan: &query::Plan,
    order: Option<Order>,
    limit: usize,
    offset: usize,
) -> ScimResult<Vec<Stored>> {
    let order = order.unwrap_or(Order::STABLE);
    store::page(
        conn,
        t,
        ctx.account,
        plan.cond.as_ref(),
        order,
        limit as i64,
        offset as i64,
    )
    .await
    .map_err(db_err)
}

fn too_many(what: String) -> ScimError {
    ScimError::bad(
        crate::scim::error::ScimType::TooMany,
        format!(
            "{what}; narrow the filter with an attribute the server indexes \
             (id, userName, externalId, displayName, active, meta.created, meta.lastModified)"
        ),
    )
}

/// A list whose filter (or sortBy) the index does not answer exactly: candidates are read a chunk
/// at a time, evaluated, and only the page is kept (or, for an in-memory sort, the matches up to
/// [`MAX_SORTED`]); at most [`MAX_EXAMINED`] candidates.
#[allow(clippy::too_many_arguments)]
async fn scan(
    ctx: &Ctx<'_>,
    kind: Kind,
    p: &ListParams,
    filter: Option<&crate::scim::filter::Filter>,
    plan: &query::Plan,
    order: Option<Order>,
    sort_path: Option<&crate::scim::filter::AttrPath>,
    want_computed: bool,
) -> ScimResult<(usize, Vec<Value>)> {
    let _turn = tokio::time::timeout(SCAN_WAIT, SCANS.acquire())
        .await
        .map_err(|_| {
            ScimError::new(
                503,
                None,
                "the server is busy answering other filters it cannot look up in its index; retry later",
            )
        })?
        .map_err(|_| ScimError::new(503, None, "the server is shutting down"))?;
    let computed_name = if kind == Kind::User { "groups" } else { "members" };
    let filter_needs_computed = filter.is_some_and(|f| query::mentions(f, computed_name));
    let size = p.page_size();
    let offset = (p.start_index - 1) as usize;
    let t = table(kind);
    let mut matched: Vec<Value> = Vec::new();
    let mut total = 0usize;
    let mut examined = 0usize;
    loop {
        let chunk = {
            let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
            let rows = candidates(&mut conn, ctx, t, plan, order, SCAN_CHUNK, examined).await?;
            render_all(
                ctx,
                &mut conn,
                kind,
                &rows,
                filter_needs_computed || want_computed,
            )
            .await?
        };
        examined += chunk.len();
        let last = chunk.len() < SCAN_CHUNK;
        for r in chunk {
            if filter.is_none_or(|f| eval::matches(kind, f, &r)) {
                // With an SQL order only the page is kept; a Rust sort needs every match.
                if order.is_some() {
                    if total >= offset && matched.len() < size {
                        matched.push(r);
                    }
                } else if matched.len() < MAX_SORTED {
                    matched.push(r);
                } else {
                    return Err(too_many(format!(
                        "more than {MAX_SORTED} resources match, too many to sort by an attribute the index does not order"
                    )));
                }
                total += 1;
            }
        }
        if last {
            break;
        }
        // A scan that read exactly the limit may be complete: it is only too many if more follow.
        if examined >= ctx.rt.scan_limit && {
            let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
            !candidates(&mut conn, ctx, t, plan, order, 1, examined)
                .await?
                .is_empty()
        } {
            return Err(too_many(format!(
                "the filter would have the server examine more than {} resources one by one",
                ctx.rt.scan_limit
            )));
        }
    }
    if let (None, Some(path)) = (order, sort_path) {
        let mut keyed: Vec<(Option<eval::SortKey>, Value)> = matched
            .into_iter()
            .map(|r| (eval::sort_key(kind, path, &r), r))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| match (a, b) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal);
                if p.descending {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        matched = keyed
            .into_iter()
            .skip(offset)
            .take(size)
            .map(|(_, r)| r)
            .collect();
    }
    Ok((total, matched))
}

/// `POST /.search` at the root: Users then Groups, paged together. Each type is paged by its own
/// list, so every page (however deep) is exact and the total counts every match of both.
pub async fn search_all(ctx: &Ctx<'_>, p: &ListParams) -> ScimResult<Page> {
    let sub = |start_index: i64, count: i64| ListParams {
        filter: p.filter.clone(),
        sort_by: None,
        descending: false,
        start_index,
        count: Some(count),
        attributes: p.attributes.clone(),
        excluded: p.excluded.clone(),
    };
    let offset = p.start_index - 1;
    let mut wanted = p.page_size() as i64;
    let users_total = list(ctx, Kind::User, &sub(1, 0)).await?.total as i64;
    let mut resources = Vec::new();
    if offset < users_total && wanted > 0 {
        let page = list(
            ctx,
            Kind::User,
            &sub(offset + 1, wanted.min(users_total - offset)),
        )
        .await?;
        wanted -= page.resources.len() as i64;
        resources.extend(page.resources);
    }
    let group_start = (offset - users_total).max(0) + 1;
    let groups = list(ctx, Kind::Group, &sub(group_start, wanted.max(0))).await?;
    resources.extend(groups.resources);
    Ok(Page {
        total: users_total as usize + groups.total,
        start_index: p.start_index,
        resources,
    })
}
