//! `provisio app test-expression`: the console's expression tester for scripts, one user with its
//! trace or the users in scope with the distribution of the values.

use super::apps::{fail, service};
use crate::db::Pool;
use crate::model::{ExpressionSurvey, ExpressionTest};
use crate::provisioning::survey::{self, Population};
use crate::server::StartError;

/// What to evaluate the expression for, and how to print it.
pub struct How {
    /// One user; otherwise the users in scope.
    pub user: Option<String>,
    pub population: Population,
    pub target: String,
    pub json: bool,
}

pub async fn test(pool: &Pool, app: &str, expression: &str, how: How) -> Result<(), StartError> {
    let failed = match &how.user {
        Some(user) => {
            let t = crate::provisioning::expression::test(pool, app, expression, user)
                .await
                .map_err(service)?;
            print_out(how.json, &t, print_test)?;
            t.error.is_some()
        }
        None => {
            let unique = survey::unique_target(&how.target) || matching(pool, app, &how.target).await?;
            let s = survey::survey(pool, app, expression, how.population, unique)
                .await
                .map_err(service)?;
            print_out(how.json, &s, print_survey)?;
            s.errors > 0
        }
    };
    if failed {
        return Err(fail("the expression failed (see above)"));
    }
    Ok(())
}

/// What-if over the whole users mapping: each attribute's distribution over the users in scope.
/// Exit code 1 when an attribute fails for a user or a unique one would be shared.
pub async fn test_mapping(pool: &Pool, app: &str, how: How) -> Result<(), StartError> {
    let list: Vec<crate::model::AttributeSurvey> = survey::survey_mapping(pool, app, how.population)
        .await
        .map_err(service)?
        .into_iter()
        .map(|(target, survey)| crate::model::AttributeSurvey { target, survey })
        .collect();
    if how.json {
        println!("{}", serde_json::to_string_pretty(&list).map_err(fail)?);
    } else {
        for a in &list {
            println!("{}: {}", a.target, a.survey.summary());
        }
    }
    let problems = list
        .iter()
        .filter(|a| a.survey.errors > 0 || (a.survey.unique && a.survey.duplicated_values > 0))
        .count();
    match problems {
        0 => Ok(()),
        n => Err(fail(format!(
            "{n} attribute(s) fail for some users or would share a unique value (see above)"
        ))),
    }
}

/// Whether the users mapping matches objects by `target`.
async fn matching(pool: &Pool, app: &str, target: &str) -> Result<bool, StartError> {
    if target.trim().is_empty() {
        return Ok(false);
    }
    let cfg = crate::provisioning::config::export(pool, app)
        .await
        .map_err(service)?;
    Ok(cfg
        .mappings
        .iter()
        .filter(|m| m.object == crate::model::MappedObject::User)
        .flat_map(|m| &m.attributes)
        .any(|a| a.matching > 0 && a.target.eq_ignore_ascii_case(target.trim())))
}

fn print_out<T: serde::Serialize>(json: bool, value: &T, text: fn(&T)) -> Result<(), StartError> {
    if json {
        println!("{}", serde_json::to_string_pretty(value).map_err(fail)?);
    } else {
        text(value);
    }
    Ok(())
}

fn print_test(t: &ExpressionTest) {
    match &t.error {
        Some(e) => println!("{}: the expression failed: {e}", t.user),
        None if t.value.is_empty() => println!("{}: (no value)", t.user),
        None => println!("{}: {}", t.user, t.value),
    }
    if !t.note.is_empty() {
        println!("{}", t.note);
    }
    if !t.trace.is_empty() {
        println!("\nHow the value came about:");
    }
    for s in &t.trace {
        let indent = "  ".repeat(s.depth as usize + 1);
        let result = if s.failed {
            format!("fails: {}", s.result)
        } else {
            s.result.clone()
        };
        println!("{indent}{} -> {result}", s.text);
        for (i, a) in s.args.iter().enumerate() {
            println!(
                "{indent}    {}. {}",
                i + 1,
                a.as_deref().unwrap_or("(not evaluated)")
            );
        }
        if s.more_args > 0 {
            println!("{indent}    and {} more", s.more_args);
        }
    }
    if t.trace_cut {
        println!("(more calls were made than are shown)");
    }
}

fn print_survey(s: &ExpressionSurvey) {
    println!("{}", s.summary());
    if s.redacted {
        println!("The expression uses Redact: values are not shown.");
    }
    let values = |title: &str, list: &[crate::model::SurveyValue]| {
        if list.is_empty() {
            return;
        }
        println!("\n{title}:");
        for v in list {
            println!("  {:>7}  {}  (e.g. {})", v.count, v.value, v.users.join(", "));
        }
    };
    if s.unique {
        values("Values more than one user would get", &s.duplicates);
    }
    values("Most common values", &s.common);
    if !s.failures.is_empty() {
        println!("\nUsers the expression fails for:");
        for (u, e) in &s.failures {
            println!("  {u}: {e}");
        }
    }
    if !s.empties.is_empty() {
        println!("\nUsers who get no value: {}", s.empties.join(", "));
    }
}
