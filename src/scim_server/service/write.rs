//! Writes: create (users through the group-commit writer), replace, patch; each in one
//! transaction, checked against `If-Match`.
//!
//! What keeps concurrent writers (other requests, other instances on PostgreSQL) apart: the
//! unique index on an account's userNames (a create or rename that loses gets 409), and the row
//! lock a change takes on its resource before reading it (`get_for_update`): writes to one
//! resource go one after the other, each reading what the one before wrote, so no membership
//! change is lost and `If-Match` is checked against the version actually written. New members
//! are share-locked until the commit (`resolve_members`). Nothing is held across an account:
//! writes to different resources go side by side. When PostgreSQL ends one of two writes
//! waiting on each other's rows (a deadlock), the write is tried again from the start.

use super::members::*;
use super::*;

fn uniqueness(e: sqlx::Error, user_name: &str) -> ScimError {
    if db::is_unique_violation(&e) {
        ScimError::uniqueness(format!("userName {user_name:?} is already taken in this account"))
    } else {
        db_err(e)
    }
}

/// The indexed columns of a group document: displayName and externalId.
fn group_cols(doc: &Map<String, Value>) -> store::GroupCols {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    store::GroupCols {
        display_name: s("displayName").unwrap_or_default(),
        external_id: s("externalId"),
    }
}

/// A user create handed to the group-commit writer, waiting for its commit.
pub struct PendingUser {
    id: String,
    doc: Map<String, Value>,
    user_name: String,
    now: String,
    outcome: tokio::sync::oneshot::Receiver<crate::scim_server::writer::Outcome>,
}

/// Validates a user and queues its insert; [`finish_user`] waits for the commit.
pub async fn submit_user(ctx: &Ctx<'_>, body: &Value) -> ScimResult<PendingUser> {
    submit_users(ctx, &[body])
        .await
        .pop()
        .unwrap_or_else(|| Err(internal("the writer took no create")))
}

/// Validates users and queues the valid ones as one unit: they are committed together, in this
/// order (a Bulk request's run of creates: of two with one userName the first wins).
pub async fn submit_users(ctx: &Ctx<'_>, bodies: &[&Value]) -> Vec<ScimResult<PendingUser>> {
    let mut prepared = Vec::with_capacity(bodies.len());
    let mut jobs = Vec::new();
    for body in bodies {
        prepared.push(prepare_user(ctx, body).map(|(job, p)| {
            jobs.push(job);
            p
        }));
    }
    let mut answers = ctx.rt.creates(ctx.pool).submit_many(jobs).await.into_iter();
    prepared
        .into_iter()
        .map(|p| {
            p.map(|(id, doc, user_name, now)| PendingUser {
                id,
                doc,
                user_name,
                now,
                // Never short: one answer per job submitted.
                outcome: answers
                    .next()
                    .unwrap_or_else(|| tokio::sync::oneshot::channel().1),
            })
        })
        .collect()
}

type Prepared = (String, Map<String, Value>, String, String);

fn prepare_user(
    ctx: &Ctx<'_>,
    body: &Value,
) -> ScimResult<(crate::scim_server::writer::CreateUser, Prepared)> {
    let doc = resource::normalize(Kind::User, body)?;
    resource::validate_required(Kind::User, &doc)?;
    let id = crate::ids::new();
    let now = crate::timefmt::now();
    let cols = user_cols(&doc);
    let user_name = cols.user_name.clone();
    let job = crate::scim_server::writer::CreateUser {
        account: ctx.account.to_string(),
        id: id.clone(),
        cols,
        doc: Value::Object(doc.clone()).to_string(),
        now: now.clone(),
        source: ctx.source.to_string(),
    };
    Ok((job, (id, doc, user_name, now)))
}

pub async fn finish_user(ctx: &Ctx<'_>, p: PendingUser) -> ScimResult<Rendered> {
    use crate::scim_server::writer::Outcome;
    let outcome = p
        .outcome
        .await
        .unwrap_or_else(|_| Outcome::Failed("the writer has stopped".into()));
    match outcome {
        Outcome::Created => {}
        Outcome::Duplicate => {
            return Err(ScimError::uniqueness(format!(
                "userName {:?} is already taken in this account",
                p.user_name
            )))
        }
        Outcome::Failed(e) => return Err(internal(e)),
    }
    // A new user belongs to no group yet: render it without reading it back.
    let stored = Stored {
        id: p.id.clone(),
        doc: p.doc,
        version: 1,
        created: p.now.clone(),
        last_modified: p.now,
    };
    Ok(Rendered {
        body: render_one(ctx, Kind::User, &stored, Some(Vec::new())),
        version: 1,
        id: p.id,
    })
}

pub async fn create(ctx: &Ctx<'_>, kind: Kind, body: &Value) -> ScimResult<Rendered> {
    if kind == Kind::User {
        let pending = submit_user(ctx, body).await?;
        return finish_user(ctx, pending).await;
    }
    retrying(|| create_group(ctx, kind, body)).await
}

async fn create_group(ctx: &Ctx<'_>, kind: Kind, body: &Value) -> ScimResult<Rendered> {
    let mut doc = resource::normalize(kind, body)?;
    resource::validate_required(kind, &doc)?;
    let id = crate::ids::new();
    let now = crate::timefmt::now();
    let mut tx = begin_write(ctx).await?;
    // Groups.
    let members = take_members(&mut doc).unwrap_or_default();
    let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    let types: HashMap<String, String> = resolve_members(ctx, &mut tx, &id, &ids)
        .await?
        .into_iter()
        .collect();
    let cols = group_cols(&doc);
    store::insert_group(
        &mut tx,
        ctx.account,
        &id,
        &cols,
        &Value::Object(doc).to_string(),
        &now,
        ctx.source,
    )
    .await
    .map_err(db_err)?;
    for m in &members {
        store::add_member(&mut tx, &id, &m.id, &types[&m.id], m.display.as_deref())
            .await
            .map_err(db_err)?;
    }
    let out = load(ctx, &mut tx, kind, &id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

type WriteTx = crate::db::WriteTx;

/// A SCIM write's transaction: its guarantees are its rows' (see the module's notes).
async fn begin_write(ctx: &Ctx<'_>) -> ScimResult<WriteTx> {
    crate::db::begin(ctx.pool, crate::db::Exclusive::Rows)
        .await
        .map_err(db_err)
}

/// Runs a write again, from the start, when the database ended it to let a concurrent one go on
/// ([`CONTENDED`]); a few tries with a short random pause, then the client is told to retry.
async fn retrying<T, F, Fut>(mut write: F) -> ScimResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ScimResult<T>>,
{
    let mut tries = 1;
    loop {
        match write().await {
            Err(e) if is_contended(&e) && tries < 4 => {
                tries += 1;
                let pause = 5 + rand::random::<u64>() % (10 * tries);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            done => return done,
        }
    }
}

/// Starts a write to an existing resource: it must exist and match `If-Match`.
async fn begin_change(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
) -> ScimResult<(WriteTx, Stored)> {
    let mut tx = begin_write(ctx).await?;
    let current = store::get_for_update(&mut tx, table(kind), ctx.account, id)
        .await
        .map_err(db_err)?
        .ok_or_else(|| not_found(kind, id))?;
    check_if_match(if_match, current.version)?;
    Ok((tx, current))
}

/// Stores a changed document (and member changes for a group); `members` is the new member set,
/// or `None` when membership is untouched.
async fn store_update(
    ctx: &Ctx<'_>,
    tx: &mut crate::db::Conn,
    kind: Kind,
    id: &str,
    mut doc: Map<String, Value>,
    old_members: &[Member],
    members: Option<Vec<Member>>,
) -> ScimResult<()> {
    let now = crate::timefmt::now();
    match kind {
        Kind::User => {
            let cols = user_cols(&doc);
            store::update_user(tx, ctx.account, id, &cols, &Value::Object(doc).to_string(), &now)
                .await
                .map_err(|e| uniqueness(e, &cols.user_name))?;
        }
        Kind::Group => {
            doc.remove("members");
            if let Some(new) = members {
                let old: HashMap<&str, &Member> = old_members.iter().map(|m| (m.id.as_str(), m)).collect();
                let new_ids: HashSet<&str> = new.iter().map(|m| m.id.as_str()).collect();
                let added: Vec<String> = new
                    .iter()
                    .filter(|m| !old.contains_key(m.id.as_str()))
                    .map(|m| m.id.clone())
                    .collect();
                let types: HashMap<String, String> =
                    resolve_members(ctx, tx, id, &added).await?.into_iter().collect();
                for m in &new {
                    let t = match old.get(m.id.as_str()) {
                        None => types[&m.id].clone(),
                        Some(o) if o.display != m.display => o.kind.clone().unwrap_or_else(|| "User".into()),
                        Some(_) => continue,
                    };
                    store::add_member(tx, id, &m.id, &t, m.display.as_deref())
                        .await
                        .map_err(db_err)?;
                }
                for m in old_members.iter().filter(|m| !new_ids.contains(m.id.as_str())) {
                    store::remove_member(tx, id, &m.id).await.map_err(db_err)?;
                }
            }
            let cols = group_cols(&doc);
            store::update_group(tx, ctx.account, id, &cols, &Value::Object(doc).to_string(), &now)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// PUT: replaces every client-writable attribute. A Group's members are replaced when the body
/// has `members` and kept when it has none: a rename must never empty a group by accident.
pub async fn replace(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<Rendered> {
    retrying(|| replace_once(ctx, kind, id, body, if_match)).await
}

async fn replace_once(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<Rendered> {
    let mut doc = resource::normalize(kind, body)?;
    resource::validate_required(kind, &doc)?;
    let has_members = kind == Kind::Group
        && body
            .as_object()
            .is_some_and(|o| resource::get_ci(o, "members").is_some());
    let members = if has_members {
        Some(take_members(&mut doc).unwrap_or_default())
    } else {
        None
    };
    let (mut tx, _current) = begin_change(ctx, kind, id, if_match).await?;
    let old_members = if kind == Kind::Group {
        stored_members(&mut tx, id).await?
    } else {
        Vec::new()
    };
    store_update(ctx, &mut tx, kind, id, doc, &old_members, members).await?;
    let out = load(ctx, &mut tx, kind, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

/// PATCH. Returns the resource after the change; nothing is written when the operations leave
/// it as it was (Entra re-sends `active=true` on every cycle).
pub async fn patch(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<Rendered> {
    retrying(|| async {
        let (mut tx, _) = apply_patch(ctx, kind, id, body, if_match).await?;
        let out = load(ctx, &mut tx, kind, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    })
    .await
}

/// PATCH answered without the resource (a group's 204): only its version after the change, so
/// a large group's members are not read back for every membership change.
pub async fn patch_version(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<i64> {
    retrying(|| async {
        let (tx, version) = apply_patch(ctx, kind, id, body, if_match).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(version)
    })
    .await
}

/// Applies a PATCH in a write transaction, returned open for the answer to be read, with the
/// resource's version after it (a write moves it on by one).
async fn apply_patch(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<(WriteTx, i64)> {
    let ops = patch::parse_request(body)?;
    let (mut tx, current) = begin_change(ctx, kind, id, if_match).await?;
    if kind == Kind::Group {
        if let Some(changes) = member_changes(&ops) {
            let changed = change_members(ctx, &mut tx, id, changes).await?;
            return Ok((tx, current.version + i64::from(changed)));
        }
    }
    let mut doc = current.doc.clone();
    let old_members = if kind == Kind::Group {
        let members = stored_members(&mut tx, id).await?;
        if !members.is_empty() {
            let items = members
                .iter()
                .map(|m| match &m.display {
                    Some(d) => json!({"value": m.id, "display": d}),
                    None => json!({"value": m.id}),
                })
                .collect();
            doc.insert("members".into(), Value::Array(items));
        }
        members
    } else {
        Vec::new()
    };
    let mut new_doc = patch::apply(kind, &doc, &ops)?;
    let new_members = if kind == Kind::Group {
        take_members(&mut new_doc).or(Some(Vec::new()))
    } else {
        None
    };
    let key = |m: &Member| (m.id.clone(), m.display.clone());
    let members_changed = new_members.as_ref().is_some_and(|m| {
        m.len() != old_members.len()
            || m.iter().map(key).collect::<HashSet<_>>()
                != old_members.iter().map(key).collect::<HashSet<_>>()
    });
    let changed = new_doc != current.doc || members_changed;
    if changed {
        store_update(
            ctx,
            &mut tx,
            kind,
            id,
            new_doc,
            &old_members,
            if members_changed { new_members } else { None },
        )
        .await?;
    }
    Ok((tx, current.version + i64::from(changed)))
}

pub async fn delete(ctx: &Ctx<'_>, kind: Kind, id: &str, if_match: Option<&str>) -> ScimResult<()> {
    retrying(|| delete_once(ctx, kind, id, if_match)).await
}

async fn delete_once(ctx: &Ctx<'_>, kind: Kind, id: &str, if_match: Option<&str>) -> ScimResult<()> {
    let (mut tx, _current) = begin_change(ctx, kind, id, if_match).await?;
    store::delete(&mut tx, table(kind), ctx.account, id)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}
