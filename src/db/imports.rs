//! Directory imports: files staged for the admin to confirm, the import that runs (at most one at
//! a time, claimed by one instance), and its undo journal (see migration 0011_import_runs).

use super::directory::UserRecord;
use super::sql::Sql;
use super::{Conn, Pool};
use sqlx::Row;

pub struct StagedImport {
    pub id: String,
    pub kind: String,
    pub file_name: String,
    pub format: String,
    pub content: String,
    pub created_by: String,
    pub created_at: String,
    pub status: String,
    pub result: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn stage_import(
    pool: &Pool,
    id: &str,
    kind: &str,
    file_name: &str,
    format: &str,
    content: &str,
    created_by: &str,
    at: &str,
    preview: &str,
) -> sqlx::Result<()> {
    let statement = sqlx::query(
        "INSERT INTO dir_imports (id, kind, file_name, format, content, created_by, created_at, status, result)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'staged', $8)",
    )
    .bind(id)
    .bind(kind)
    .bind(file_name)
    .bind(format)
    .bind(content)
    .bind(created_by)
    .bind(at)
    .bind(preview);
    super::write(pool, statement).await?;
    Ok(())
}

pub async fn staged_import(pool: &Pool, id: &str) -> sqlx::Result<Option<StagedImport>> {
    let r = sqlx::query(
        "SELECT id, kind, file_name, format, content, created_by, created_at, status, result FROM dir_imports
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(r.map(|r| StagedImport {
        id: r.get("id"),
        kind: r.get("kind"),
        file_name: r.get("file_name"),
        format: r.get("format"),
        content: r.get("content"),
        created_by: r.get("created_by"),
        created_at: r.get("created_at"),
        status: r.get("status"),
        result: r.get("result"),
    }))
}

/// Forgets a staged import that was not started.
pub async fn discard_import(pool: &Pool, id: &str) -> sqlx::Result<bool> {
    let done = super::write(
        pool,
        sqlx::query("DELETE FROM dir_imports WHERE id = $1 AND status = 'staged'").bind(id),
    )
    .await?;
    Ok(done == 1)
}

/// Imports are kept a day (a running one until it ends); finished ones lose their content (the
/// file may hold personal data).
pub async fn tidy_imports(pool: &Pool, before: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query("DELETE FROM dir_imports WHERE created_at < $1 AND status <> 'running'").bind(before),
    )
    .await?;
    super::write(
        pool,
        sqlx::query(
            "UPDATE dir_imports SET content = '' WHERE status IN ('done', 'failed') AND content <> ''",
        ),
    )
    .await?;
    Ok(())
}

// ---- the running import ----

/// Why an import could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It is not staged (any more): it has started or ended, or was discarded.
    NotStaged,
    /// Another import is running; its file name.
    Busy(String),
}

const NONE_RUNNING: &str = "NOT EXISTS (SELECT 1 FROM dir_imports r WHERE r.status = 'running')";

/// Starts a staged import for `runner`, if no other import is running.
pub async fn claim_staged(
    pool: &Pool,
    id: &str,
    runner: &str,
    alive_until: &str,
    written_at: &str,
) -> sqlx::Result<Result<(), Refused>> {
    // "No other import is running" spans rows: only one claim at a time may check it.
    let mut tx = super::begin(pool, super::Exclusive::Directory).await?;
    let sql = format!(
        "UPDATE dir_imports SET status = 'running', runner = $2, alive_until = $3, written_at = $4
         WHERE id = $1 AND status = 'staged' AND {NONE_RUNNING}"
    );
    let done = sqlx::query(&sql)
        .bind(id)
        .bind(runner)
        .bind(alive_until)
        .bind(written_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    claimed(tx, done).await
}

/// Registers an import that was not staged (the command line, demo data) and starts it for
/// `runner`, if no other import is running.
#[allow(clippy::too_many_arguments)]
pub async fn claim_new(
    pool: &Pool,
    id: &str,
    kind: &str,
    file_name: &str,
    format: &str,
    created_by: &str,
    runner: &str,
    alive_until: &str,
    written_at: &str,
) -> sqlx::Result<Result<(), Refused>> {
    // "No other import is running" spans rows: only one claim at a time may check it.
    let mut tx = super::begin(pool, super::Exclusive::Directory).await?;
    let sql = format!(
        "INSERT INTO dir_imports (id, kind, file_name, format, content, created_by, created_at, status,
             result, runner, alive_until, written_at)
         SELECT $1, $2, $3, $4, '', $5, $6, 'running', '', $7, $8, $6 WHERE {NONE_RUNNING}"
    );
    let done = sqlx::query(&sql)
        .bind(id)
        .bind(kind)
        .bind(file_name)
        .bind(format)
        .bind(created_by)
        .bind(written_at)
        .bind(runner)
        .bind(alive_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    claimed(tx, done).await
}

/// Ends a claim's transaction: claimed when the statement changed a row, else why not.
async fn claimed(mut tx: super::WriteTx, changed: u64) -> sqlx::Result<Result<(), Refused>> {
    let outcome = if changed == 1 {
        Ok(())
    } else {
        let busy: Option<String> =
            sqlx::query_scalar("SELECT file_name FROM dir_imports WHERE status = 'running' LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        Err(busy.map_or(Refused::NotStaged, Refused::Busy))
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Extends `runner`'s claim on the import, inside the transaction of the chunk it is about to
/// write; false when the claim is no longer `runner`'s (another instance rolled it back), and the
/// chunk must not be written.
pub async fn renew(conn: &mut Conn, id: &str, runner: &str, alive_until: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE dir_imports SET alive_until = $3 WHERE id = $1 AND status = 'running' AND runner = $2",
    )
    .bind(id)
    .bind(runner)
    .bind(alive_until)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends `runner`'s import: `done`, or `failed` once its journal is empty (rolled back). False when
/// it did not end (not `runner`'s, or a failed one still has steps to undo).
pub async fn finish(pool: &Pool, id: &str, runner: &str, done: bool, result: &str) -> sqlx::Result<bool> {
    if done {
        forget_journal(pool, id).await?;
    }
    let changed = super::write(
        pool,
        sqlx::query(
            "UPDATE dir_imports SET status = $3, result = $4, runner = '', alive_until = ''
             WHERE id = $1 AND status = 'running' AND runner = $2
               AND NOT EXISTS (SELECT 1 FROM dir_import_undo WHERE import_id = $1)",
        )
        .bind(id)
        .bind(runner)
        .bind(if done { "done" } else { "failed" })
        .bind(result),
    )
    .await?;
    Ok(changed == 1)
}

/// A running import as recovery sees it.
pub struct RunningImport {
    pub id: String,
    pub kind: String,
    pub file_name: String,
    pub format: String,
    pub created_by: String,
    pub result: String,
    pub runner: String,
    pub alive_until: String,
    pub written_at: String,
}

pub async fn running(pool: &Pool) -> sqlx::Result<Vec<RunningImport>> {
    let rows = sqlx::query(
        "SELECT id, kind, file_name, format, created_by, result, runner, alive_until, written_at
         FROM dir_imports WHERE status = 'running'",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| RunningImport {
            id: r.get("id"),
            kind: r.get("kind"),
            file_name: r.get("file_name"),
            format: r.get("format"),
            created_by: r.get("created_by"),
            result: r.get("result"),
            runner: r.get("runner"),
            alive_until: r.get("alive_until"),
            written_at: r.get("written_at"),
        })
        .collect())
}

/// Takes over a running import from `from` (whose claim lapsed or whose process is gone), to roll
/// it back; false when someone else was first.
pub async fn take_over(pool: &Pool, id: &str, from: &str, to: &str, alive_until: &str) -> sqlx::Result<bool> {
    let changed = super::write(
        pool,
        sqlx::query(
            "UPDATE dir_imports SET runner = $3, alive_until = $4
             WHERE id = $1 AND status = 'running' AND runner = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(alive_until),
    )
    .await?;
    Ok(changed == 1)
}

// ---- the undo journal ----

/// One change an import made, and how to take it back.
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    UserCreated(String),
    /// The user as it was before.
    UserUpdated(Box<UserRecord>),
    GroupCreated(String),
    MemberAdded {
        group: String,
        member: String,
    },
}

impl Undo {
    fn action(&self) -> &'static str {
        match self {
            Undo::UserCreated(_) => "user_created",
            Undo::UserUpdated(_) => "user_updated",
            Undo::GroupCreated(_) => "group_created",
            Undo::MemberAdded { .. } => "member_added",
        }
    }
}

/// Appends steps `first..` to the import's journal, inside the transaction that made them.
pub async fn journal(conn: &mut Conn, id: &str, first: i64, steps: &[Undo]) -> sqlx::Result<()> {
    let numbered: Vec<(i64, &Undo)> = (first..).zip(steps).collect();
    for chunk in numbered.chunks(150) {
        let mut qb =
            Sql::new("INSERT INTO dir_import_undo (import_id, step, action, object_id, related_id, before) ");
        qb.push_values(chunk, |mut b, (step, undo)| {
            let (object, related, before) = match undo {
                Undo::UserCreated(id) | Undo::GroupCreated(id) => (id.clone(), String::new(), None),
                Undo::UserUpdated(u) => (u.id.clone(), String::new(), serde_json::to_string(u).ok()),
                Undo::MemberAdded { group, member } => (group.clone(), member.clone(), None),
            };
            b.push_bind(id.to_string())
                .push_bind(*step)
                .push_bind(undo.action())
                .push_bind(object)
                .push_bind(related)
                .push_bind(before);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which steps a rollback pass takes: the groups created, or everything else.
fn pass(groups: bool) -> &'static str {
    if groups {
        "action = 'group_created'"
    } else {
        "action <> 'group_created'"
    }
}

/// The last `limit` steps of the journal (of group creations, or of everything else), newest
/// first, with their step numbers.
pub async fn last_steps(
    conn: &mut Conn,
    id: &str,
    groups: bool,
    limit: i64,
) -> sqlx::Result<Vec<(i64, Undo)>> {
    let sql = format!(
        "SELECT step, action, object_id, related_id, before FROM dir_import_undo
         WHERE import_id = $1 AND {} ORDER BY step DESC LIMIT $2",
        pass(groups)
    );
    let rows = sqlx::query(&sql)
        .bind(id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let object: String = r.get("object_id");
        let undo = match r.get::<String, _>("action").as_str() {
            "user_created" => Undo::UserCreated(object),
            "group_created" => Undo::GroupCreated(object),
            "member_added" => Undo::MemberAdded {
                group: object,
                member: r.get("related_id"),
            },
            _ => {
                let before: Option<String> = r.get("before");
                let user = serde_json::from_str(before.as_deref().unwrap_or_default())
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                Undo::UserUpdated(Box::new(user))
            }
        };
        out.push((r.get("step"), undo));
    }
    Ok(out)
}

/// Removes the steps of the pass from `from` on (the ones just undone), in the transaction that
/// undid them.
pub async fn drop_steps(conn: &mut Conn, id: &str, groups: bool, from: i64) -> sqlx::Result<()> {
    let sql = format!(
        "DELETE FROM dir_import_undo WHERE import_id = $1 AND step >= $2 AND {}",
        pass(groups)
    );
    sqlx::query(&sql).bind(id).bind(from).execute(&mut *conn).await?;
    Ok(())
}

/// Forgets the journal of an import that succeeded, a batch at a time.
async fn forget_journal(pool: &Pool, id: &str) -> sqlx::Result<u64> {
    const BATCH: i64 = 5_000;
    super::delete_in_batches(pool, BATCH as u64, || {
        sqlx::query(
            "DELETE FROM dir_import_undo WHERE import_id = $1 AND step IN (
                 SELECT step FROM dir_import_undo WHERE import_id = $1 ORDER BY step LIMIT $2)",
        )
        .bind(id)
        .bind(BATCH)
    })
    .await
}

/// Whether anything still refers to a group: members, a group it is a member of, assignments.
pub async fn group_in_use(conn: &mut Conn, id: &str) -> sqlx::Result<bool> {
    let hit: Option<i64> = sqlx::query_scalar(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM dir_members WHERE group_id = $1 OR member_id = $1)
            OR EXISTS (SELECT 1 FROM app_assignments WHERE principal_id = $1)",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(hit.is_some())
}
