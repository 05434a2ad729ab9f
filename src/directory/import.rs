//! Importing users and memberships from CSV or JSON lines.
//!
//! All or nothing: every row is validated first (the console shows the result as a preview), and
//! the import runs only when no row has an error, in one transaction, so a file is never half
//! imported. Users are upserted by userPrincipalName: columns that a file leaves out keep their
//! values; an empty cell clears an optional attribute. A `groups` column (names separated by `;`)
//! adds memberships, creating groups that do not exist; it never removes any.

use super::users::{upsert, Upserted};
use super::validate::{self, UserChanges};
use super::{groups, DirError};
use crate::db::directory as store;
use crate::db::Pool;
use crate::model::{user_attr, ImportColumn, ImportError, ImportPreview};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The largest file the console accepts (the command line reads any size).
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// How many errors are listed; the total is always reported.
pub const MAX_LISTED_ERRORS: usize = 100;
const SAMPLE_ROWS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Memberships,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Memberships => "memberships",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "users" => Some(Kind::Users),
            "memberships" => Some(Kind::Memberships),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// JSON lines when the name says so or the first non-blank character opens an object.
    pub fn detect(file_name: &str, content: &str) -> Format {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") || lower.ends_with(".json") {
            return Format::Jsonl;
        }
        if lower.ends_with(".csv") {
            return Format::Csv;
        }
        match content.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('{') => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// A file read into columns and rows. A cell is `None` when a JSON line leaves its key out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line of the file where the row starts.
    pub line: usize,
    pub cells: Vec<Option<String>>,
}

fn err(line: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        line,
        message: message.into(),
    }
}

/// Reads a file; rows that cannot be read are errors, the others are kept.
pub fn read(format: Format, content: &str) -> (Table, Vec<ImportError>) {
    let content = content.trim_start_matches('\u{feff}');
    match format {
        Format::Csv => read_csv(content),
        Format::Jsonl => read_jsonl(content),
    }
}

fn read_csv(content: &str) -> (Table, Vec<ImportError>) {
    let mut errors = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(content.as_bytes());
    let columns: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            return (
                Table::default(),
                vec![err(1, format!("the header row cannot be read: {e}"))],
            )
        }
    };
    if columns.iter().all(String::is_empty) {
        return (
            Table::default(),
            vec![err(1, "the file is empty: the first line must name the columns")],
        );
    }
    // Lines from byte offsets: the reader's own line count does not survive blank lines.
    let newlines: Vec<usize> = content.match_indices('\n').map(|(i, _)| i).collect();
    // A record's position is where the previous one ended, before any blank lines it skipped.
    let bytes = content.as_bytes();
    let line_at = |p: Option<&csv::Position>| {
        p.map(|p| {
            let mut b = p.byte() as usize;
            while b < bytes.len() && (bytes[b] == b'\n' || bytes[b] == b'\r') {
                b += 1;
            }
            newlines.partition_point(|&n| n < b) + 1
        })
        .unwrap_or(0)
    };
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = line_at(r.position());
                if r.len() == 1 && r.get(0) == Some("") {
                    continue;
                }
                if r.len() != columns.len() {
                    errors.push(err(
                        line,
                        format!(
                            "has {} fields but the header names {} columns",
                            r.len(),
                            columns.len()
                        ),
                    ));
                    continue;
                }
                rows.push(Row {
                    line,
                    cells: r.iter().map(|c| Some(c.to_string())).collect(),
                });
            }
            Err(e) => {
                let line = line_at(e.position());
                errors.push(err(line, format!("cannot be read as CSV: {e}")));
            }
        }
    }
    (Table { columns, rows }, errors)
}

fn read_jsonl(content: &str) -> (Table, Vec<ImportError>) {
    let mut errors = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parsed = Vec::new();
    for (i, text) in content.lines().enumerate() {
        let line = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let obj = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => {
                errors.push(err(line, "is not a JSON object"));
                continue;
            }
            Err(e) => {
                errors.push(err(line, format!("is not valid JSON: {e}")));
                continue;
            }
        };
        let mut cells = Vec::new();
        for (k, v) in obj {
            let value = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                serde_json::Value::Object(_) => {
                    errors.push(err(line, format!("{k:?} is an object; use a string")));
                    continue;
                }
            };
            let at = *index.entry(k.clone()).or_insert_with(|| {
                columns.push(k.clone());
                columns.len() - 1
            });
            cells.push((at, value));
        }
        parsed.push((line, cells));
    }
    let width = columns.len();
    let rows = parsed
        .into_iter()
        .map(|(line, cells)| {
            let mut row = vec![None; width];
            for (at, v) in cells {
                row[at] = Some(v);
            }
            Row { line, cells: row }
        })
        .collect();
    (Table { columns, rows }, errors)
}

/// One user row ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub line: usize,
    pub changes: UserChanges,
    pub groups: Vec<String>,
}

/// One membership row: group name, member reference, member type.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub line: usize,
    pub group: String,
    pub member: String,
    pub member_type: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Users(Vec<UserRow>),
    Memberships(Vec<MemberRow>),
}

/// What an import will do, found without writing anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub columns: Vec<ImportColumn>,
    pub rows: Rows,
    pub creates: usize,
    pub updates: usize,
    pub new_groups: usize,
    pub memberships: usize,
    pub errors: Vec<ImportError>,
}

impl Plan {
    pub fn row_count(&self) -> usize {
        match &self.rows {
            Rows::Users(r) => r.len(),
            Rows::Memberships(r) => r.len(),
        }
    }
}

fn split_groups(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// Validates every row against the rules and the directory as it is now.
pub async fn plan(
    pool: &Pool,
    kind: Kind,
    table: &Table,
    mut errors: Vec<ImportError>,
) -> Result<Plan, DirError> {
    let mut conn = pool.acquire().await?;
    let mut plan = Plan {
        columns: Vec::new(),
        rows: Rows::Users(Vec::new()),
        creates: 0,
        updates: 0,
        new_groups: 0,
        memberships: 0,
        errors: Vec::new(),
    };
    // Group names seen in the file that do not exist yet (lower-cased).
    let mut missing_groups: HashSet<String> = HashSet::new();
    let mut known_groups: HashSet<String> = HashSet::new();
    let mut seen_header = HashSet::new();
    match kind {
        Kind::Users => {
            let mut mapped: Vec<Option<&'static str>> = Vec::new();
            for c in &table.columns {
                let a = if c.trim().eq_ignore_ascii_case("groups") {
                    Some("groups")
                } else {
                    user_attr(c).map(|a| a.name)
                };
                match a {
                    Some(a) if !seen_header.insert(a) => errors.push(err(1, format!("the column {a} appears twice"))),
                    Some(_) => {}
                    None => errors.push(err(
                        1,
                        format!("unknown column {c:?}: use user attribute names such as userPrincipalName, displayName, department, or groups"),
                    )),
                }
                plan.columns.push(ImportColumn {
                    header: c.clone(),
                    attribute: a.map(str::to_string),
                });
                mapped.push(a);
            }
            if !seen_header.contains("userPrincipalName") {
                errors.push(err(
                    1,
                    "the file needs a userPrincipalName column: users are matched by it",
                ));
            }
            if !errors.is_empty() && errors.iter().any(|e| e.line == 1) {
                plan.errors = errors;
                return Ok(plan);
            }
            let upns_in_file: HashMap<String, usize> = table
                .rows
                .iter()
                .filter_map(|r| {
                    let i = mapped.iter().position(|m| *m == Some("userPrincipalName"))?;
                    Some((r.cells[i].clone()?.trim().to_lowercase(), r.line))
                })
                .collect();
            let mut seen_upn: HashMap<String, usize> = HashMap::new();
            let listed: Vec<String> = upns_in_file.keys().cloned().collect();
            // Existing users by lower-cased UPN: whether each is deleted.
            let existing: HashMap<String, bool> = store::users_by_upns(&mut conn, &listed)
                .await?
                .into_iter()
                .map(|u| (u.upn.to_lowercase(), u.deleted_at.is_some()))
                .collect();
            let mut rows = Vec::with_capacity(table.rows.len());
            for r in &table.rows {
                let mut fields = Vec::new();
                let mut groups_cell = None;
                for (m, cell) in mapped.iter().zip(&r.cells) {
                    match (m, cell) {
                        (Some("groups"), Some(v)) => groups_cell = Some(v.as_str()),
                        (Some(a), Some(v)) => fields.push((*a, v.as_str())),
                        _ => {}
                    }
                }
                let changes = match validate::user_changes(fields) {
                    Ok(c) => c,
                    Err(problems) => {
                        for (f, m) in problems {
                            errors.push(err(r.line, format!("{f}: {m}")));
                        }
                        continue;
                    }
                };
                let Some(upn) = changes.upn.clone() else {
                    errors.push(err(r.line, "userPrincipalName: enter a user principal name"));
                    continue;
                };
                let key = upn.to_lowercase();
                if let Some(first) = seen_upn.insert(key.clone(), r.line) {
                    errors.push(err(r.line, format!("{upn} is already on line {first}")));
                    continue;
                }
                match existing.get(&key) {
                    Some(deleted) if *deleted => {
                        errors.push(err(
                            r.line,
                            format!(
                                "{upn} belongs to a deleted user; restore it or delete it permanently first"
                            ),
                        ));
                        continue;
                    }
                    Some(_) => plan.updates += 1,
                    None if changes.display_name.is_none() => {
                        errors.push(err(r.line, "displayName: a new user needs a display name"));
                        continue;
                    }
                    None => plan.creates += 1,
                }
                if let Some(Some(m)) = &changes.manager {
                    let in_file = upns_in_file.contains_key(&m.to_lowercase());
                    if !in_file {
                        let found = match store::user_by_upn(&mut conn, m).await? {
                            Some(u) => Some(u),
                            None => store::user(&mut conn, m).await?,
                        };
                        match found {
                            Some(u) if u.deleted_at.is_none() => {}
                            Some(_) => errors.push(err(r.line, format!("manager: {m} is deleted"))),
                            None => errors.push(err(r.line, format!("manager: there is no user {m}"))),
                        }
                    }
                    if m.eq_ignore_ascii_case(&upn) {
                        errors.push(err(r.line, "manager: a user cannot be their own manager"));
                    }
                }
                let groups = groups_cell.map(split_groups).unwrap_or_default();
                for g in &groups {
                    if let Err(m) = validate::group_name(g) {
                        errors.push(err(r.line, format!("groups: {g:?}: {m}")));
                    }
                    check_group(&mut conn, g, &mut known_groups, &mut missing_groups).await?;
                }
                plan.memberships += groups.len();
                rows.push(UserRow {
                    line: r.line,
                    changes,
                    groups,
                });
            }
            plan.rows = Rows::Users(rows);
        }
        Kind::Memberships => {
            let mut at: BTreeMap<&'static str, usize> = BTreeMap::new();
            for (i, c) in table.columns.iter().enumerate() {
                let a = match c.trim().to_ascii_lowercase().as_str() {
                    "group" | "groupname" | "group name" => Some("group"),
                    "member" | "userprincipalname" => Some("member"),
                    "membertype" | "member type" => Some("memberType"),
                    _ => None,
                };
                match a {
                    Some(a) if at.insert(a, i).is_some() => errors.push(err(1, format!("the column {a} appears twice"))),
                    Some(_) => {}
                    None => errors.push(err(
                        1,
                        format!("unknown column {c:?}: a membership file has the columns group, member and (optionally) memberType"),
                    )),
                }
                plan.columns.push(ImportColumn {
                    header: c.clone(),
                    attribute: a.map(str::to_string),
                });
            }
            for need in ["group", "member"] {
                if !at.contains_key(need) {
                    errors.push(err(1, format!("the file needs a {need} column")));
                }
            }
            if errors.iter().any(|e| e.line == 1) {
                plan.errors = errors;
                return Ok(plan);
            }
            let cell = |r: &Row, name: &str| -> String {
                at.get(name)
                    .and_then(|i| r.cells[*i].clone())
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            let mut rows = Vec::new();
            for r in &table.rows {
                let group = cell(r, "group");
                let member = cell(r, "member");
                let member_type = match cell(r, "memberType").to_ascii_lowercase().as_str() {
                    "" | "user" => "user",
                    "group" => "group",
                    other => {
                        errors.push(err(
                            r.line,
                            format!("memberType: {other:?} is neither user nor group"),
                        ));
                        continue;
                    }
                };
                if let Err(m) = validate::group_name(&group) {
                    errors.push(err(r.line, format!("group: {m}")));
                    continue;
                }
                if member.is_empty() {
                    errors.push(err(r.line, "member: enter a user principal name or group name"));
                    continue;
                }
                check_group(&mut conn, &group, &mut known_groups, &mut missing_groups).await?;
                if member_type == "user" {
                    let found = match store::user_by_upn(&mut conn, &member).await? {
                        Some(u) => Some(u),
                        None => store::user(&mut conn, &member).await?,
                    };
                    match found {
                        Some(u) if u.deleted_at.is_none() => {}
                        Some(_) => errors.push(err(r.line, format!("member: {member} is deleted"))),
                        None => errors.push(err(r.line, format!("member: there is no user {member}"))),
                    }
                } else {
                    if member.eq_ignore_ascii_case(&group) {
                        errors.push(err(r.line, "member: a group cannot be a member of itself"));
                    }
                    check_group(&mut conn, &member, &mut known_groups, &mut missing_groups).await?;
                }
                plan.memberships += 1;
                rows.push(MemberRow {
                    line: r.line,
                    group,
                    member,
                    member_type,
                });
            }
            plan.rows = Rows::Memberships(rows);
        }
    }
    plan.new_groups = missing_groups.len();
    errors.sort_by_key(|e| e.line);
    plan.errors = errors;
    Ok(plan)
}

async fn check_group(
    conn: &mut crate::db::Conn,
    name: &str,
    known: &mut HashSet<String>,
    missing: &mut HashSet<String>,
) -> Result<(), DirError> {
    let key = name.to_lowercase();
    if known.contains(&key) || missing.contains(&key) {
        return Ok(());
    }
    if store::group_by_name(conn, name).await?.is_some() {
        known.insert(key);
    } else {
        missing.insert(key);
    }
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub groups_created: usize,
    pub memberships_added: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users created, {} updated, {} unchanged; {} groups created; {} memberships added",
            self.created, self.updated, self.unchanged, self.groups_created, self.memberships_added
        )
    }
}

/// Why an import stopped: the row and what was wrong. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Failed {
    pub line: usize,
    pub message: String,
}

impl Failed {
    fn at(line: usize, e: DirError) -> Failed {
        let message = match e {
            DirError::Invalid { field, message } => format!("{field}: {message}"),
            DirError::Db(e) => {
                tracing::error!(error = %e, "database error during an import");
                "a database error stopped the import; nothing was imported".into()
            }
            other => other.to_string(),
        };
        Failed { line, message }
    }
}

/// Runs a plan that has no errors, in one transaction. `progress(done, total)` is called as rows
/// are written.
pub async fn apply(
    pool: &Pool,
    plan: &Plan,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, Failed> {
    if let Some(e) = plan.errors.first() {
        return Err(Failed {
            line: e.line,
            message: format!(
                "{} (the file has {} errors; nothing was imported)",
                e.message,
                plan.errors.len()
            ),
        });
    }
    let mut tx = crate::db::begin(pool)
        .await
        .map_err(|e| Failed::at(0, e.into()))?;
    let now = crate::timefmt::now();
    let mut s = Summary::default();
    let total = plan.row_count() as u64;
    let mut groups_by_name: HashMap<String, store::GroupRecord> = HashMap::new();
    async fn group_named(
        conn: &mut crate::db::Conn,
        cache: &mut HashMap<String, store::GroupRecord>,
        name: &str,
        now: &str,
        s: &mut Summary,
    ) -> Result<store::GroupRecord, DirError> {
        let key = name.to_lowercase();
        if let Some(g) = cache.get(&key) {
            return Ok(g.clone());
        }
        let g = match store::group_by_name(conn, name).await? {
            Some(g) => g,
            None => {
                s.groups_created += 1;
                groups::insert(conn, name, "", now).await?
            }
        };
        cache.insert(key, g.clone());
        Ok(g)
    }
    match &plan.rows {
        Rows::Users(rows) => {
            let mut changes = store::ChangeBuffer::default();
            let upns: Vec<String> = rows
                .iter()
                .map(|r| r.changes.upn.clone().unwrap_or_default())
                .collect();
            let mut existing: HashMap<String, store::UserRecord> = store::users_by_upns(&mut tx, &upns)
                .await
                .map_err(|e| Failed::at(0, e.into()))?
                .into_iter()
                .map(|u| (u.upn.to_lowercase(), u))
                .collect();
            // userPrincipalName (lower-cased) -> objectId of every user this import has written.
            let mut ids: HashMap<String, String> = HashMap::with_capacity(rows.len());
            let mut outcome = Vec::with_capacity(rows.len());
            let mut deferred = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                let key = upns[i].to_lowercase();
                let before = existing.remove(&key);
                let merged = validate::merge_user(before.as_ref(), &r.changes, super::new_id, &now)
                    .map_err(|p| Failed::at(r.line, super::invalid(&p[0].0, p[0].1.clone())))?;
                // A manager already written (earlier in the file) is set now; one further down the
                // file, or an existing user's new manager (which needs the loop check), later.
                let manager = match &r.changes.manager {
                    None => None,
                    Some(None) => Some(None),
                    Some(Some(m)) => match ids.get(&m.to_lowercase()) {
                        Some(id) if before.is_none() => Some(Some(id.clone())),
                        _ => {
                            deferred.push(i);
                            None
                        }
                    },
                };
                let (u, done) = super::users::write(&mut tx, before.as_ref(), merged, manager)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                match done {
                    Upserted::Created => changes.push(store::ChangeKind::User, &u.id, "", "create"),
                    Upserted::Updated => changes.push(store::ChangeKind::User, &u.id, "", "update"),
                    Upserted::Unchanged => {}
                }
                ids.insert(key, u.id);
                outcome.push(done);
                if i % 1000 == 999 {
                    progress(i as u64 + 1, total);
                }
            }
            changes
                .flush(&mut tx, &now)
                .await
                .map_err(|e| Failed::at(0, e.into()))?;
            for i in deferred {
                let r = &rows[i];
                let before = store::user_by_upn(&mut tx, &upns[i])
                    .await
                    .map_err(|e| Failed::at(r.line, e.into()))?;
                let manager_only = UserChanges {
                    manager: r.changes.manager.clone(),
                    ..Default::default()
                };
                let (_, done) = upsert(&mut tx, before.as_ref(), &manager_only, &now)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                if done == Upserted::Updated && outcome[i] == Upserted::Unchanged {
                    outcome[i] = Upserted::Updated;
                }
            }
            for o in &outcome {
                match o {
                    Upserted::Created => s.created += 1,
                    Upserted::Updated => s.updated += 1,
                    Upserted::Unchanged => s.unchanged += 1,
                }
            }
            let mut members: Vec<(String, String, &'static str)> = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                for g in &r.groups {
                    let group = group_named(&mut tx, &mut groups_by_name, g, &now, &mut s)
                        .await
                        .map_err(|e| Failed::at(r.line, e))?;
                    let user = ids.get(&upns[i].to_lowercase()).cloned().unwrap_or_default();
                    members.push((group.id, user, "user"));
                }
            }
            let added = store::add_members(&mut tx, &members, &now)
                .await
                .map_err(|e| Failed::at(0, e.into()))?;
            s.memberships_added += added.len();
            for (group, member) in &added {
                changes.push(store::ChangeKind::Membership, group, member, "add");
            }
            changes
                .flush(&mut tx, &now)
                .await
                .map_err(|e| Failed::at(0, e.into()))?;
        }
        Rows::Memberships(rows) => {
            for (i, r) in rows.iter().enumerate() {
                let group = group_named(&mut tx, &mut groups_by_name, &r.group, &now, &mut s)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                let (id, name) = if r.member_type == "group" {
                    let g = group_named(&mut tx, &mut groups_by_name, &r.member, &now, &mut s)
                        .await
                        .map_err(|e| Failed::at(r.line, e))?;
                    (g.id, g.display_name)
                } else {
                    let (kind, id, name) = groups::resolve_principal(&mut tx, &r.member)
                        .await
                        .map_err(|e| Failed::at(r.line, e))?;
                    if kind != "user" {
                        return Err(Failed::at(
                            r.line,
                            super::invalid("member", format!("there is no user {}", r.member)),
                        ));
                    }
                    (id, name)
                };
                if groups::add_member_in(&mut tx, &group, r.member_type, &id, &name, &now)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?
                {
                    s.memberships_added += 1;
                }
                if i % 1000 == 999 {
                    progress(i as u64 + 1, total);
                }
            }
        }
    }
    tx.commit().await.map_err(|e| Failed::at(0, e.into()))?;
    progress(total, total);
    Ok(s)
}

/// The preview the console shows for a staged file.
pub fn preview(
    id: &str,
    kind: Kind,
    file_name: &str,
    format: Format,
    table: &Table,
    plan: &Plan,
) -> ImportPreview {
    ImportPreview {
        id: id.to_string(),
        kind: kind.as_str().to_string(),
        file_name: file_name.to_string(),
        format: format.as_str().to_string(),
        columns: plan.columns.clone(),
        sample: table
            .rows
            .iter()
            .take(SAMPLE_ROWS)
            .map(|r| r.cells.iter().map(|c| c.clone().unwrap_or_default()).collect())
            .collect(),
        rows: table.rows.len(),
        creates: plan.creates,
        updates: plan.updates,
        new_groups: plan.new_groups,
        memberships: plan.memberships,
        errors: plan.errors.iter().take(MAX_LISTED_ERRORS).cloned().collect(),
        error_total: plan.errors.len(),
        status: "staged".into(),
        result: String::new(),
        progress: None,
    }
}

/// Reads and validates an uploaded file and keeps it with its preview until the admin confirms
/// or discards it; returns the import's id.
pub async fn stage(
    pool: &Pool,
    kind: Kind,
    file_name: &str,
    content: &str,
    actor: &str,
) -> Result<String, DirError> {
    let format = Format::detect(file_name, content);
    let (table, errors) = read(format, content);
    let plan = plan(pool, kind, &table, errors).await?;
    let id = super::new_id();
    let p = preview(&id, kind, file_name, format, &table, &plan);
    let json = serde_json::to_string(&p).unwrap_or_default();
    let now = crate::timefmt::now();
    store::tidy_imports(pool, &crate::timefmt::ago(time::Duration::days(1))).await?;
    store::stage_import(
        pool,
        &id,
        kind.as_str(),
        file_name,
        format.as_str(),
        content,
        actor,
        &now,
        &json,
    )
    .await?;
    Ok(id)
}

/// Starts a staged import in the background. The file is validated again first, because the
/// directory may have changed since the preview.
pub async fn start_staged(
    pool: &Pool,
    progress: std::sync::Arc<Progress>,
    id: &str,
    actor: crate::audit::Actor,
) -> Result<(), DirError> {
    let staged = store::staged_import(pool, id)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such import".into()))?;
    if !store::set_import_status(pool, id, "staged", "running", &staged.result).await? {
        return Err(DirError::Conflict("this import has already started".into()));
    }
    let (pool, id) = (pool.clone(), id.to_string());
    progress.set(&id, 0, 1);
    tokio::spawn(async move {
        let kind = Kind::parse(&staged.kind).unwrap_or(Kind::Users);
        let format = Format::parse(&staged.format).unwrap_or(Format::Csv);
        let (table, errors) = read(format, &staged.content);
        let outcome = match plan(&pool, kind, &table, errors).await {
            Ok(plan) => {
                let (p, pid) = (progress.clone(), id.clone());
                let report = move |done, total| p.set(&pid, done, total);
                apply(&pool, &plan, &report).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let mut preview: ImportPreview =
            serde_json::from_str(&staged.result).unwrap_or_else(|_| ImportPreview {
                id: id.clone(),
                kind: staged.kind.clone(),
                file_name: staged.file_name.clone(),
                format: staged.format.clone(),
                ..Default::default()
            });
        let (status, outcome_text, audit_outcome) = match &outcome {
            Ok(s) => ("done", format!("Imported: {s}."), crate::audit::Outcome::Success),
            Err(e) => (
                "failed",
                format!("Nothing was imported. {e}"),
                crate::audit::Outcome::Failure,
            ),
        };
        preview.result = outcome_text.clone();
        let json = serde_json::to_string(&preview).unwrap_or_default();
        if let Err(e) = store::set_import_status(&pool, &id, "running", status, &json).await {
            tracing::error!(error = %e, "could not record the end of an import");
        }
        progress.finish(&id);
        crate::audit::record(
            &pool,
            &actor,
            "directory.import",
            &staged.file_name,
            audit_outcome,
            &outcome_text,
        )
        .await;
    });
    Ok(())
}

/// Progress of running imports, by import id, for the console's progress bar.
#[derive(Default)]
pub struct Progress(std::sync::Mutex<HashMap<String, (u64, u64)>>);

impl Progress {
    pub fn set(&self, id: &str, done: u64, total: u64) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(id.to_string(), (done, total));
        }
    }

    pub fn get(&self, id: &str) -> Option<(u64, u64)> {
        self.0.lock().ok()?.get(id).copied()
    }

    pub fn finish(&self, id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_line_numbers() {
        let (t, errors) = read(
            Format::Csv,
            "\u{feff}userPrincipalName,displayName\nadele@contoso.com,\"Vance, Adele\"\n\nbad@contoso.com\n\"multi\nline@x.io\",M\n",
        );
        assert_eq!(t.columns, ["userPrincipalName", "displayName"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[0].cells[1].as_deref(), Some("Vance, Adele"));
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
    }

    #[test]
    fn json_lines_leave_out_missing_keys() {
        let (t, errors) = read(
            Format::Jsonl,
            "{\"userPrincipalName\":\"a@b.co\",\"accountEnabled\":false,\"groups\":[\"Sales\",\"All\"]}\n\nnot json\n{\"userPrincipalName\":\"c@b.co\",\"department\":null}\n[1]\n",
        );
        assert_eq!(
            t.columns,
            ["userPrincipalName", "accountEnabled", "groups", "department"]
        );
        assert_eq!(t.rows[0].cells[1].as_deref(), Some("false"));
        assert_eq!(t.rows[0].cells[2].as_deref(), Some("Sales;All"));
        assert_eq!(t.rows[0].cells[3], None);
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.rows[1].cells[3].as_deref(), Some(""));
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(Format::detect("users.csv", "{"), Format::Csv);
        assert_eq!(Format::detect("users.jsonl", ""), Format::Jsonl);
        assert_eq!(Format::detect("upload", "  {\"a\":1}"), Format::Jsonl);
        assert_eq!(Format::detect("upload", "userPrincipalName"), Format::Csv);
    }

    #[test]
    fn group_cells_split_on_semicolons() {
        assert_eq!(split_groups(" Sales ; ;All staff"), ["Sales", "All staff"]);
    }
}
