//! Acting on what the drift report found, one account at a time (the service layer audits each
//! action and runs provision on demand where the engine's own update follows):
//! - *revert* a drifted account: its link is told what the application really holds of what was
//!   sent, so the user's next evaluation sends the directory's values for what differs;
//! - *adopt* an orphan: it is linked to the directory user it matches, so it is managed from now
//!   on (and its next evaluation brings it in line, or deprovisions it when the user is out of
//!   scope);
//! - *disable* or *delete* an orphan in the application, with a provisioning log entry.
//!
//! Every action first checks that the finding still holds (the account is still there, still
//! linked or still unlinked, still matching), so a report that is out of date changes nothing.

use super::plan::held;
use super::*;
use crate::directory::{invalid, DirError};
use crate::scim::resource::get_ci;

/// The application's configuration and a target for it (dry: reads only).
async fn open(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
    dry_run: bool,
) -> Result<(ProvisioningConfig, Target, Capabilities), EngineError> {
    let cfg = crate::db::provisioning::load_pool(pool, app)
        .await?
        .ok_or(EngineError::NoApplication)?
        .config;
    match super::preview::connect(pool, sealer, http, app, &cfg, tuning, dry_run).await? {
        Ok((target, caps)) => Ok((cfg, target, caps)),
        Err(e) => Err(refused(
            "target_id",
            format!("the application cannot be reached: {e}"),
        )),
    }
}

fn refused(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::Config(invalid(field, message))
}

/// The user linked to account `target_id`, with its link.
async fn linked(pool: &Pool, app: &str, target_id: &str) -> Result<Option<(String, Managed)>, EngineError> {
    Ok(links::by_target(pool, app, ObjectType::User, target_id).await?)
}

/// The account as the application has it now.
async fn account(target: &Target, target_id: &str) -> Result<Json, EngineError> {
    match target.get(Kind::User, target_id).await {
        Ok(a) => Ok(a),
        Err(ClientError::Http { status: 404, .. }) => Err(EngineError::Config(DirError::NotFound(
            "the application no longer has this account".into(),
        ))),
        Err(e) => Err(refused(
            "target_id",
            format!("the application did not answer: {e}"),
        )),
    }
}

async fn remember(
    pool: &Pool,
    app: &str,
    source_id: &str,
    target_id: &str,
    exported: &[Exported],
    state: LinkState,
) -> Result<(), EngineError> {
    let now = crate::timefmt::now();
    let exported = exported_json(exported);
    links::remember(
        pool,
        &links::Remembered {
            app,
            object_type: ObjectType::User,
            source_id,
            target_id,
            exported: &exported,
            state,
            now: &now,
        },
    )
    .await?;
    Ok(())
}

/// Revert: the link of drifted account `target_id` is set to what the application holds of what
/// was sent; returns the directory user's id, whose evaluation then sends what differs.
pub async fn prepare_revert(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
    target_id: &str,
) -> Result<String, EngineError> {
    let (_, target, _) = open(pool, sealer, http, app, tuning, true).await?;
    let Some((source_id, managed)) = linked(pool, app, target_id).await? else {
        return Err(refused("target_id", "no user is linked to this account any more"));
    };
    let account = account(&target, target_id).await?;
    let sent = exported_from(&managed.exported);
    let holds = held(Kind::User, &account, &sent);
    remember(pool, app, &source_id, target_id, &holds, managed.state).await?;
    Ok(source_id)
}

/// Adopt: orphan `target_id` is linked to directory user `user_id`, which it must match by the
/// users mapping's matching attributes (as the engine's matching decides) and which must not
/// be linked to another account.
pub async fn adopt(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
    target_id: &str,
    user_id: &str,
) -> Result<(), EngineError> {
    let (cfg, target, caps) = open(pool, sealer, http, app, tuning, true).await?;
    if linked(pool, app, target_id).await?.is_some() {
        return Err(refused("target_id", "this account is already managed"));
    }
    if !links::managed_some(pool, app, ObjectType::User, &[user_id.to_string()])
        .await?
        .is_empty()
    {
        return Err(refused(
            "user_id",
            "this directory user is already linked to another account of the application",
        ));
    }
    let account = account(&target, target_id).await?;
    let (ctx, _) = cycle::context(pool, app, &cfg, target, caps, None, tuning).await?;
    let rows = sources::users_by_ids(pool, &[user_id.to_string()]).await?;
    let Some(user) = scope::scoped(pool, app, &ctx.policy, rows).await?.pop() else {
        return Err(refused("user_id", "there is no such directory user"));
    };
    let exported = ctx
        .policy
        .users
        .export(&user.context, false)
        .map_err(|e| refused("user_id", format!("the users mapping fails for this user: {e}")))?;
    let matching: Vec<Exported> = {
        let paths: Vec<&str> = ctx
            .policy
            .users
            .matching(&exported)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        exported
            .iter()
            .filter(|e| paths.contains(&e.target.as_str()))
            .cloned()
            .collect()
    };
    if held(Kind::User, &account, &matching).is_empty() {
        return Err(refused(
            "user_id",
            "the account does not hold this user's value of any matching attribute",
        ));
    }
    let holds = held(Kind::User, &account, &exported);
    remember(pool, app, user_id, target_id, &holds, LinkState::Active).await
}

/// Disables (or deletes) orphan `target_id` in the application and logs it; the entry is
/// returned (its status says whether the application accepted it).
pub async fn remove_orphan(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
    target_id: &str,
    delete: bool,
) -> Result<LogWrite, EngineError> {
    let (_, target, caps) = open(pool, sealer, http, app, tuning, false).await?;
    if linked(pool, app, target_id).await?.is_some() {
        return Err(refused(
            "target_id",
            "this account is managed: it is disabled or deleted when its user leaves scope",
        ));
    }
    let account = account(&target, target_id).await?;
    let name = account
        .as_object()
        .and_then(|o| get_ci(o, "userName"))
        .and_then(Json::as_str)
        .unwrap_or(target_id)
        .to_string();
    let log = Log::new(ObjectType::User, "", &name);
    let log = log.at(target_id);
    let (action, result, modified) = if delete {
        ("Delete", target.delete(Kind::User, target_id).await, Vec::new())
    } else {
        let result = match caps.patch {
            true => {
                let op = PatchOp::Replace {
                    path: "active".into(),
                    value: Json::Bool(false),
                };
                target.patch(Kind::User, target_id, &[op.to_json()]).await
            }
            false => {
                let mut whole = account.as_object().cloned().unwrap_or_default();
                whole.insert("active".into(), Json::Bool(false));
                target.replace(Kind::User, target_id, &whole).await.map(|_| ())
            }
        };
        let was = account
            .as_object()
            .and_then(|o| get_ci(o, "active"))
            .map(Json::to_string)
            .unwrap_or_default();
        (
            "Disable",
            result,
            vec![("active".to_string(), was, "false".to_string())],
        )
    };
    let why = "Not managed by Provisio: an administrator asked for it from the drift report";
    let entry = match result {
        Ok(()) => log.entry(
            action,
            "Success",
            vec![step(
                "Act on an account not managed by Provisio",
                "Success",
                why,
                Vec::new(),
            )],
            &modified,
            None,
        ),
        Err(e) => log.entry(
            action,
            "Failure",
            vec![step(
                "Act on an account not managed by Provisio",
                "Failure",
                why,
                Vec::new(),
            )],
            &[],
            Some(narrate::Problem::new(e.code(), e.to_string(), narrate::hint(&e))),
        ),
    };
    let mut conn = pool.acquire().await?;
    crate::db::prov_log::write(&mut conn, app, None, &entry).await?;
    Ok(entry)
}
