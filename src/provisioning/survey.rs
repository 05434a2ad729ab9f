//! What-if for an expression over many users: evaluates it for every user in an application's
//! scope (or the first N of them, in the order an initial cycle reads them), as the users mapping
//! would, and tells the distribution: how many get a value, an empty one, none at all or an
//! error (with the users), the most common values and the values more than one user would get
//! (what a unique attribute such as userName cannot have). Nothing is written anywhere.
//!
//! Bounded at any directory size: values are counted by hash, each kept once shortened; lists of
//! users are cut; evaluation runs off the async workers a chunk at a time, within the expression
//! tester's concurrency limit.

use super::engine::ScopeCheck;
use crate::db::Pool;
use crate::directory::DirError;
use crate::mapping::expr::Outcome;
use crate::model::{ExpressionSurvey, SurveyValue};
use std::collections::HashMap;

/// Users read and evaluated per step.
const CHUNK: usize = 500;
/// Values listed as the most common, and values with duplicates listed.
const COMMON: usize = 10;
const DUPLICATES: usize = 20;
/// Users named per value, and per failure or empty value.
const USERS_PER_VALUE: usize = 3;
const NAMED: usize = 20;
/// Characters of a value kept for the report.
const VALUE_SHOWN: usize = 80;
/// Values up to this long are counted by themselves, longer ones by their hash.
const KEY_BYTES: usize = 64;

/// Which users a survey evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    /// Every user in scope.
    All,
    /// The first N users in scope.
    First(usize),
}

impl Population {
    /// The form's and the command line's choice: "all", or how many users (1 to 1,000,000).
    pub fn parse(size: &str) -> Result<Population, DirError> {
        let size = size.trim();
        if size.is_empty() || size.eq_ignore_ascii_case("all") {
            return Ok(Population::All);
        }
        match size.replace([',', '_'], "").parse::<usize>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(Population::First(n)),
            _ => Err(crate::directory::invalid(
                "survey_size",
                "Choose all users in scope, or how many of them (1 to 1,000,000).",
            )),
        }
    }
}

/// Whether a target attribute must hold a value no other user has: SCIM's userName, and
/// externalId as identity providers use it.
pub fn unique_target(target: &str) -> bool {
    let t = target.trim();
    t.eq_ignore_ascii_case("userName") || t.eq_ignore_ascii_case("externalId")
}

struct Seen {
    count: u64,
    shown: String,
    users: Vec<String>,
}

/// Evaluates `expression` over the application's users in scope. `unique` says the target
/// attribute must be unique (userName, externalId, a matching attribute): the report then leads
/// with the duplicates.
pub async fn survey(
    pool: &Pool,
    app: &str,
    expression: &str,
    population: Population,
    unique: bool,
) -> Result<ExpressionSurvey, DirError> {
    let e = super::expression::parse_for_users(expression)
        .map_err(|m| crate::directory::invalid("expression", m))?;
    let mut out = survey_many(pool, app, vec![(e, unique)], population).await?;
    out.pop()
        .ok_or_else(|| crate::directory::invalid("expression", "the evaluation failed"))
}

/// What-if over a whole mapping: every attribute of the users mapping that reads the directory
/// (direct and expression mappings; constants are the same for everyone) evaluated over the
/// users in scope in one pass, each with its distribution, in the mapping's order.
pub async fn survey_mapping(
    pool: &Pool,
    app: &str,
    population: Population,
) -> Result<Vec<(String, ExpressionSurvey)>, DirError> {
    let cfg = super::config::export(pool, app).await?;
    let mut targets = Vec::new();
    let mut expressions = Vec::new();
    let attributes = cfg
        .mappings
        .iter()
        .filter(|m| m.object == crate::model::MappedObject::User)
        .flat_map(|m| m.attributes.iter());
    for a in attributes {
        let text = match a.kind {
            crate::model::MappingKind::Direct => format!("[{}]", a.source),
            crate::model::MappingKind::Expression => a.source.clone(),
            _ => continue,
        };
        // A saved mapping parses; one that no longer does is reported by the cycles.
        let Ok(e) = super::expression::parse_for_users(&text) else {
            continue;
        };
        targets.push(a.target.clone());
        expressions.push((e, a.matching > 0 || unique_target(&a.target)));
    }
    let surveys = survey_many(pool, app, expressions, population).await?;
    Ok(targets.into_iter().zip(surveys).collect())
}

/// Evaluates each expression (with whether its target must be unique) over the users in scope,
/// reading the directory once.
async fn survey_many(
    pool: &Pool,
    app: &str,
    expressions: Vec<(crate::mapping::expr::Expression, bool)>,
    population: Population,
) -> Result<Vec<ExpressionSurvey>, DirError> {
    let check = ScopeCheck::open(pool, app).await.map_err(|e| {
        crate::directory::invalid(
            "expression",
            format!("The application's scope cannot be read: {e}"),
        )
    })?;
    let limit = match population {
        Population::All => usize::MAX,
        Population::First(n) => n.max(1),
    };
    let _turn = super::expression::turn().await;
    let mut reports: Vec<Report> = expressions.iter().map(|_| Report::default()).collect();
    let expressions = std::sync::Arc::new(expressions);
    let mut after = String::new();
    let mut evaluated = 0usize;
    let mut cut = false;
    loop {
        let users = check
            .users_after(pool, &after, CHUNK)
            .await
            .map_err(|e| crate::directory::invalid("expression", e.to_string()))?;
        let Some(last) = users.last() else { break };
        after = last.id.clone();
        let mut done = users.len() < CHUNK;
        let mut batch = Vec::new();
        for u in users.into_iter().filter(|u| u.in_scope) {
            if evaluated == limit {
                // Users in scope beyond the sample: the report says it is a sample.
                cut = true;
                done = true;
                break;
            }
            evaluated += 1;
            batch.push(u);
        }
        let exprs = expressions.clone();
        let outcomes = tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|u| {
                    let o: Vec<_> = exprs.iter().map(|(e, _)| e.evaluate(&u.context)).collect();
                    (u.upn, o)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| crate::directory::invalid("expression", "the evaluation failed"))?;
        for (upn, os) in outcomes {
            for (report, o) in reports.iter_mut().zip(os) {
                report.add(upn.clone(), o);
            }
        }
        if done {
            break;
        }
    }
    Ok(reports
        .into_iter()
        .zip(expressions.iter())
        .map(|(mut r, (_, unique))| {
            r.cut = cut;
            r.finish(*unique, population)
        })
        .collect())
}

#[derive(Default)]
struct Report {
    evaluated: u64,
    with_value: u64,
    empty: u64,
    left_out: u64,
    errors: u64,
    redacted: bool,
    cut: bool,
    /// By the value itself when short, else by its SHA-256: memory stays small per value.
    values: HashMap<String, Seen>,
    failures: Vec<(String, String)>,
    empties: Vec<String>,
}

impl Report {
    fn add(&mut self, upn: String, o: Result<Outcome, crate::mapping::expr::EvalError>) {
        self.evaluated += 1;
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                self.errors += 1;
                if self.failures.len() < NAMED {
                    self.failures.push((upn, e.to_string()));
                }
                return;
            }
        };
        self.redacted |= o.redacted;
        if o.ignore_flow {
            self.left_out += 1;
            return;
        }
        if o.value.is_null_or_empty() {
            self.empty += 1;
            if self.empties.len() < NAMED {
                self.empties.push(upn);
            }
            return;
        }
        self.with_value += 1;
        let text = o.value.to_json().to_string();
        let key = if text.len() <= KEY_BYTES {
            text.clone()
        } else {
            use sha2::Digest;
            format!("#{:x}", sha2::Sha256::digest(text.as_bytes()))
        };
        let seen = self.values.entry(key).or_insert_with(|| Seen {
            count: 0,
            shown: crate::mapping::text::shorten(&text, VALUE_SHOWN),
            users: Vec::new(),
        });
        seen.count += 1;
        if seen.users.len() < USERS_PER_VALUE {
            seen.users.push(upn);
        }
    }

    fn finish(self, unique: bool, population: Population) -> ExpressionSurvey {
        let redacted = self.redacted;
        let listed = |s: &Seen| SurveyValue {
            value: if redacted {
                "[Redact]".into()
            } else {
                s.shown.clone()
            },
            count: s.count,
            users: s.users.clone(),
        };
        let mut by_count: Vec<&Seen> = self.values.values().collect();
        by_count.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.shown.cmp(&b.shown)));
        let duplicated: Vec<&Seen> = by_count.iter().copied().filter(|s| s.count > 1).collect();
        ExpressionSurvey {
            limit: match population {
                Population::All => None,
                Population::First(n) => Some(n as u64),
            },
            cut: self.cut,
            evaluated: self.evaluated,
            with_value: self.with_value,
            empty: self.empty,
            left_out: self.left_out,
            errors: self.errors,
            distinct: self.values.len() as u64,
            unique,
            duplicated_values: duplicated.len() as u64,
            duplicated_users: duplicated.iter().map(|s| s.count).sum(),
            common: by_count.iter().take(COMMON).map(|s| listed(s)).collect(),
            duplicates: duplicated.iter().take(DUPLICATES).map(|s| listed(s)).collect(),
            failures: self.failures,
            empties: self.empties,
            redacted,
        }
    }
}
