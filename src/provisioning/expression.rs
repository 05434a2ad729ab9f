//! The expression tester: evaluates an expression for one directory user, as the users mapping
//! would, within the evaluation budget and off the async workers. The console's Edit attribute
//! page (Viewers too) calls it.

use super::source;
use crate::db::Pool;
use crate::directory::DirError;
use crate::mapping::expr::Expression;
use crate::model::{ExpressionTest, TraceStep};

/// Evaluates `expression` for the directory user `upn`, as the users mapping would.
pub async fn test(pool: &Pool, app: &str, expression: &str, upn: &str) -> Result<ExpressionTest, DirError> {
    if upn.trim().is_empty() {
        return Err(crate::directory::invalid(
            "test_user",
            "Choose a user to test the expression on.",
        ));
    }
    let all_users = super::config::export(pool, app).await?.settings.scope == crate::model::SyncScope::All;
    let source::SourceUser { user, ctx, .. } =
        source::load_user(pool, app, all_users, upn, "test_user").await?;
    let out = |value: String, error: Option<String>, note: &str| ExpressionTest {
        user: user.upn.clone(),
        value,
        error,
        note: note.to_string(),
        trace: Vec::new(),
        trace_cut: false,
    };
    let e = match parse_for_users(expression) {
        Ok(e) => e,
        Err(message) => return Ok(out(String::new(), Some(message), "")),
    };
    // Within the evaluation budget, a few at a time, and off the async workers: a Viewer's
    // test can cost tens of megabytes and milliseconds of CPU, never the server.
    let _turn = turn().await;
    let evaluated = tokio::task::spawn_blocking(move || e.evaluate_traced(&ctx)).await;
    Ok(match evaluated {
        Err(_) => out(String::new(), Some("the evaluation failed".into()), ""),
        Ok((evaluated, trace)) => ExpressionTest {
            trace: trace.steps.into_iter().map(step).collect(),
            trace_cut: trace.cut,
            ..outcome(evaluated, out)
        },
    })
}

/// Parses an expression of the users mapping: its syntax, then that every attribute it names is a
/// source attribute of users. The error says where.
pub(super) fn parse_for_users(expression: &str) -> Result<Expression, String> {
    let e = Expression::parse(expression).map_err(|e| e.to_string())?;
    for (name, pos) in e.attributes() {
        if source::canonical("user", &name).is_none() {
            return Err(format!(
                "at position {}: [{name}] is not a source attribute of users",
                pos + 1
            ));
        }
    }
    Ok(e)
}

/// A turn to evaluate expressions for the tester (see [`EXPRESSION_TESTS`], never closed).
pub(super) async fn turn() -> Option<tokio::sync::SemaphorePermit<'static>> {
    EXPRESSION_TESTS.acquire().await.ok()
}

fn step(s: crate::mapping::expr::trace::Step) -> TraceStep {
    let failed = s.result.is_err();
    TraceStep {
        depth: s.depth as u32,
        name: s.name,
        text: s.text,
        args: s.args,
        more_args: s.more_args as u32,
        result: s.result.unwrap_or_else(|e| e),
        failed,
    }
}

/// What the tester shows for an evaluation's result.
fn outcome(
    evaluated: Result<crate::mapping::expr::Outcome, crate::mapping::expr::EvalError>,
    out: impl Fn(String, Option<String>, &str) -> ExpressionTest,
) -> ExpressionTest {
    match evaluated {
        Err(e) => out(String::new(), Some(e.to_string()), ""),
        Ok(o) if o.ignore_flow => out(
            String::new(),
            None,
            "IgnoreFlowIfNullOrEmpty: the attribute is left out of the request.",
        ),
        Ok(o) if o.value.is_null() => out(
            String::new(),
            None,
            "Null: the attribute is not provisioned (or the default value is used on create).",
        ),
        Ok(o) => {
            let note = if o.redacted {
                "Redact: provisioning logs show [Redact] instead of this value."
            } else {
                ""
            };
            let value = o.value.to_json().to_string();
            if value.len() > TEST_RESULT_SHOWN {
                let cut = (0..=TEST_RESULT_SHOWN)
                    .rev()
                    .find(|&i| value.is_char_boundary(i))
                    .unwrap_or(0);
                let note = format!(
                    "The value has {} bytes; the first {} KiB are shown. {note}",
                    value.len(),
                    TEST_RESULT_SHOWN >> 10
                );
                return out(format!("{}…", &value[..cut]), None, note.trim_end());
            }
            out(value, None, note)
        }
    }
}

/// Expression tests evaluated at the same time (one per core of a small machine).
static EXPRESSION_TESTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
/// The longest value the tester shows (and keeps in the session for a page without JavaScript).
const TEST_RESULT_SHOWN: usize = 16 << 10;
