//! The expression tester of the Edit attribute page: the value an expression gives one user with
//! the trace of how it came about (each call with its arguments' values and its result), and the
//! what-if over the users in scope (how many get a value, none, an error; the most common values;
//! the values more than one user would get). Part of the attribute form: its buttons post the form
//! with an `intent`, so both work without JavaScript.

use super::*;
use crate::model::{ExpressionSurvey, SurveyValue, TraceStep};

#[component]
pub(super) fn ExpressionTester(result: Signal<Option<Result<SaveOutcome, ApiError>>>) -> impl IntoView {
    view! {
        <fieldset class="tester only-expression">
            <legend>"Expression tester"</legend>
            <div class="field">
                <label for="test_user">"User (user principal name)"</label>
                <PrincipalPicker id="test_user" name="test_user" placeholder="start typing a name"
                    invalid=Signal::derive(invalid(result, "test_user")) />
                <FieldError value=result field="test_user" />
            </div>
            <button type="submit" name="intent" value="test" class="btn" formnovalidate=true>"Test expression"</button>
            {move || result.get().and_then(|r| r.ok()).and_then(|o| o.expression).map(|t| view! { <TestResult test=t /> })}
            <div class="field survey-field">
                <label for="survey_size">"Try it on the users in scope"</label>
                <select id="survey_size" name="survey_size" aria-invalid=invalid(result, "survey_size")>
                    <option value="1000">"The first 1,000"</option>
                    <option value="all">"All of them"</option>
                </select>
                <FieldError value=result field="survey_size" />
                <p class="muted">"Shows how many users get a value, none or an error, the most common values, and values more than one user would get. Nothing is sent or saved."</p>
            </div>
            <button type="submit" name="intent" value="survey" class="btn" formnovalidate=true>"Try on users in scope"</button>
            {move || result.get().and_then(|r| r.ok()).and_then(|o| o.survey.map(|s| (o.message, s))).map(|(m, s)| view! { <SurveyResult message=m survey=s /> })}
        </fieldset>
    }
    .into_any()
}

#[component]
fn TestResult(test: ExpressionTest) -> impl IntoView {
    let class = if test.error.is_some() {
        "alert alert-error"
    } else {
        "alert alert-ok"
    };
    let trace =
        (!test.trace.is_empty()).then(|| view! { <Trace steps=test.trace.clone() cut=test.trace_cut /> });
    view! {
        <div class=class role="status" data-expression-result>
            <p>"Result for "<strong>{test.user.clone()}</strong>": "
                {match &test.error {
                    Some(e) => view! { <span>{e.clone()}</span> }.into_any(),
                    None if test.value.is_empty() => view! { <span>"(no value)"</span> }.into_any(),
                    None => view! { <code class="mono" data-value>{test.value.clone()}</code> }.into_any(),
                }}
            </p>
            {(!test.note.is_empty()).then(|| view! { <p class="muted">{test.note.clone()}</p> })}
        </div>
        {trace}
    }
    .into_any()
}

/// The calls of an evaluation, outermost first, each indented by its depth.
#[component]
fn Trace(steps: Vec<TraceStep>, cut: bool) -> impl IntoView {
    view! {
        <details class="trace" open=true data-trace>
            <summary>"How the value came about ("{steps.len()}" calls)"</summary>
            <ol>
                {steps.into_iter().map(|s| view! { <TraceLine step=s /> }).collect_view()}
            </ol>
            {cut.then(|| view! { <p class="muted">"The evaluation made more calls than are shown here; its result above is complete."</p> })}
        </details>
    }
    .into_any()
}

#[component]
fn TraceLine(step: TraceStep) -> impl IntoView {
    let args = step
        .args
        .iter()
        .map(|a| match a {
            Some(v) => view! { <li><code class="mono">{v.clone()}</code></li> }.into_any(),
            None => view! { <li class="muted">"not evaluated"</li> }.into_any(),
        })
        .collect_view();
    let more = (step.more_args > 0)
        .then(|| view! { <li class="muted">{format!("and {} more", step.more_args)}</li> });
    let class = if step.failed {
        "trace-step failed"
    } else {
        "trace-step"
    };
    view! {
        <li class=class style=format!("--depth: {}", step.depth.min(12)) data-step=step.name.clone()>
            <code class="mono trace-call">{step.text.clone()}</code>
            <span class="trace-arrow" aria-hidden="true">" → "</span>
            <span class="sr-only">" gives "</span>
            {if step.failed {
                view! { <span class="trace-error">"fails: "{step.result.clone()}</span> }.into_any()
            } else {
                view! { <code class="mono trace-result">{step.result.clone()}</code> }.into_any()
            }}
            {(!step.args.is_empty()).then(|| view! {
                <ol class="trace-args" aria-label="Arguments">{args}{more}</ol>
            })}
        </li>
    }
    .into_any()
}

#[component]
fn SurveyResult(message: String, survey: ExpressionSurvey) -> impl IntoView {
    let warn = survey.errors > 0 || (survey.unique && survey.duplicated_values > 0);
    let class = if warn {
        "alert alert-warn"
    } else {
        "alert alert-ok"
    };
    let duplicates = survey.unique && !survey.duplicates.is_empty();
    view! {
        <div class="survey" data-survey>
            <p class=class role="status">{message}</p>
            {survey.redacted.then(|| view! { <p class="muted">"The expression uses Redact: values are not shown."</p> })}
            {duplicates.then(|| view! {
                <ValueTable caption="Values more than one user would get" values=survey.duplicates.clone() attr="duplicates" />
            })}
            {(!survey.common.is_empty()).then(|| view! {
                <ValueTable caption="Most common values" values=survey.common.clone() attr="common" />
            })}
            {(!survey.failures.is_empty()).then(|| view! {
                <h3>"Users the expression fails for"</h3>
                <ul data-failures>
                    {survey.failures.iter().map(|(u, e)| view! { <li><strong>{u.clone()}</strong>": "{e.clone()}</li> }).collect_view()}
                </ul>
            })}
            {(!survey.empties.is_empty()).then(|| view! {
                <h3>"Users who get no value"</h3>
                <p class="mono" data-empties>{survey.empties.join(", ")}</p>
            })}
        </div>
    }
    .into_any()
}

#[component]
fn ValueTable(caption: &'static str, values: Vec<SurveyValue>, attr: &'static str) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-values=attr>
                <caption>{caption}</caption>
                <thead><tr><th scope="col">"Value"</th><th scope="col">"Users"</th><th scope="col">"For example"</th></tr></thead>
                <tbody>
                    {values.into_iter().map(|v| view! {
                        <tr>
                            <td><code class="mono">{v.value}</code></td>
                            <td>{v.count}</td>
                            <td class="mono">{v.users.join(", ")}</td>
                        </tr>
                    }.into_any()).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
