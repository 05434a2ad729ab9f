//! `POST /Bulk` (RFC 7644 section 3.7): operations run in order, each in its own transaction
//! (consecutive user creates that refer to no bulkId go to the group-commit writer together, as
//! concurrent POSTs would, unless `failOnErrors` is set); `bulkId:` references in data are
//! replaced by the ids of resources created earlier in the same request (operations whose
//! references are not yet known wait for a later pass, so order in the request does not
//! matter); `failOnErrors` stops after that many errors.

use super::auth::Authed;
use super::service::{self, Ctx};
use super::{body_json, ctx};
use crate::scim::error::{ScimError, ScimResult, ScimType};
use crate::scim::resource;
use crate::scim::schema::{self, Kind};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

struct Op {
    method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

fn parse(body: &Value) -> ScimResult<(Vec<Op>, Option<usize>)> {
    let syntax = |m: String| ScimError::bad(ScimType::InvalidSyntax, m);
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("a bulk request must be a JSON object".into()))?;
    let ops = resource::get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a bulk request needs an \"Operations\" array".into()))?;
    if ops.len() > schema::BULK_MAX_OPERATIONS {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "a bulk request may carry at most {} operations",
                schema::BULK_MAX_OPERATIONS
            ),
        ));
    }
    let fail_on_errors = match resource::get_ci(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ScimError::invalid_value("failOnErrors must be a positive integer"))?
                as usize,
        ),
    };
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let o = op
            .as_object()
            .ok_or_else(|| syntax(format!("bulk operation {} must be an object", i + 1)))?;
        let s = |k: &str| resource::get_ci(o, k).and_then(Value::as_str).map(str::to_string);
        let method = s("method")
            .ok_or_else(|| syntax(format!("bulk operation {} needs a method", i + 1)))?
            .to_ascii_uppercase();
        let path = s("path").ok_or_else(|| syntax(format!("bulk operation {} needs a path", i + 1)))?;
        let bulk_id = s("bulkId");
        if method == "POST" && bulk_id.is_none() {
            return Err(syntax(format!("bulk operation {} (POST) needs a bulkId", i + 1)));
        }
        out.push(Op {
            method,
            bulk_id,
            version: s("version"),
            path,
            data: resource::get_ci(o, "data").cloned(),
        });
    }
    Ok((out, fail_on_errors))
}

/// The bulkId a path refers to (`/Users/bulkId:qwerty`), and the path with it replaced.
fn path_reference(path: &str) -> Option<&str> {
    path.find("bulkId:")
        .map(|i| path[i + "bulkId:".len()..].trim_end_matches('/'))
}

/// The bulkIds a value refers to (`"bulkId:qwerty"` anywhere in it).
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.push(id.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        Value::Object(o) => o.values().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

/// `/Users`, `/Groups/abc` -> (kind, id).
fn target(path: &str) -> ScimResult<(Kind, Option<String>)> {
    let p = path.trim().trim_start_matches('/');
    let (first, rest) = match p.split_once('/') {
        Some((a, b)) => (a, Some(b.to_string())),
        None => (p, None),
    };
    let kind = match first {
        "Users" => Kind::User,
        "Groups" => Kind::Group,
        _ => {
            return Err(ScimError::invalid_path(format!(
                "{path:?} is not a Users or Groups path"
            )))
        }
    };
    Ok((kind, rest.filter(|r| !r.is_empty())))
}

/// Status, id, location and version of an operation that succeeded.
type Executed = (u16, Option<String>, Option<String>, Option<String>);

async fn execute(c: &Ctx<'_>, op: &Op, data: Option<Value>) -> ScimResult<Executed> {
    let (kind, id) = target(&op.path)?;
    let need_data = || {
        data.clone()
            .ok_or_else(|| ScimError::invalid_value("this bulk operation needs data"))
    };
    let need_id = || {
        id.clone()
            .ok_or_else(|| ScimError::invalid_path("this bulk operation needs a resource id in its path"))
    };
    let version = op.version.as_deref();
    let r = match op.method.as_str() {
        "POST" => {
            if id.is_some() {
                return Err(ScimError::invalid_path(
                    "POST takes a collection path such as /Users",
                ));
            }
            (201, service::create(c, kind, &need_data()?).await?)
        }
        "PUT" => (
            200,
            service::replace(c, kind, &need_id()?, &need_data()?, version).await?,
        ),
        "PATCH" => {
            // A Bulk response carries no resource: the version is all a PATCH needs to read back.
            let id = need_id()?;
            let v = service::patch_version(c, kind, &id, &need_data()?, version).await?;
            let location = service::location(c, kind, &id);
            return Ok((200, Some(id), Some(location), Some(resource::etag(v))));
        }
        "DELETE" => {
            let id = need_id()?;
            service::delete(c, kind, &id, version).await?;
            return Ok((204, None, None, None));
        }
        other => {
            return Err(ScimError::invalid_value(format!(
                "bulk method {other} is not supported"
            )))
        }
    };
    Ok(executed(r.0, r.1))
}

fn executed(status: u16, r: service::Rendered) -> Executed {
    let location = r.body["meta"]["location"].as_str().map(str::to_string);
    (status, Some(r.id), location, Some(resource::etag(r.version)))
}

/// What one operation did, as the Bulk response reports it; a created resource's id is
/// remembered under its bulkId.
fn result_of(op: &Op, outcome: ScimResult<Executed>, created: &mut HashMap<String, String>) -> Value {
    let mut result = Map::new();
    result.insert("method".into(), json!(op.method));
    if let Some(b) = &op.bulk_id {
        result.insert("bulkId".into(), json!(b));
    }
    match outcome {
        Ok((status, id, location, version)) => {
            if let (Some(b), Some(id)) = (&op.bulk_id, id) {
                created.insert(b.clone(), id);
            }
            if let Some(l) = location {
                result.insert("location".into(), json!(l));
            }
            if let Some(v) = version {
                result.insert("version".into(), json!(v));
            }
            result.insert("status".into(), json!(status.to_string()));
        }
        Err(e) => {
            result.insert("status".into(), json!(e.status.to_string()));
            result.insert("response".into(), e.body());
        }
    }
    Value::Object(result)
}

/// `POST /Users` whose data refers to no bulkId: it depends on no other operation.
fn plain_user_create(op: &Op) -> bool {
    let mut refs = Vec::new();
    if let Some(d) = &op.data {
        references(d, &mut refs);
    }
    op.method == "POST"
        && op.data.is_some()
        && refs.is_empty()
        && matches!(target(&op.path), Ok((Kind::User, None)))
}

#[allow(
    clippy::expect_used,
    reason = "a plain create (checked when the run was formed) has data"
)]
pub async fn run(st: &AppState, a: &Authed, body: Result<Bytes, BytesRejection>) -> ScimResult<Response> {
    a.require_admin()?;
    let body = body_json(body)?;
    let (ops, fail_on_errors) = parse(&body)?;
    let c = ctx(st, a);
    let mut created: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut errors = 0usize;
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    'passes: loop {
        let mut progressed = false;
        let mut still = Vec::new();
        let list = std::mem::take(&mut pending);
        let mut at = 0;
        while at < list.len() {
            let i = list[at];
            at += 1;
            let op = &ops[i];
            // A run of independent user creates is committed together; without failOnErrors
            // nothing depends on their order but the answers, which keep it.
            if fail_on_errors.is_none() && plain_user_create(op) {
                let mut run = vec![i];
                while at < list.len() && plain_user_create(&ops[list[at]]) {
                    run.push(list[at]);
                    at += 1;
                }
                progressed = true;
                let bodies: Vec<&Value> = run
                    .iter()
                    .map(|&i| ops[i].data.as_ref().expect("a plain create has data"))
                    .collect();
                let submitted = run.iter().copied().zip(service::submit_users(&c, &bodies).await);
                for (i, pending) in submitted {
                    let outcome = match pending {
                        Ok(p) => service::finish_user(&c, p).await,
                        Err(e) => Err(e),
                    };
                    let op = &ops[i];
                    let outcome = outcome.map(|r| executed(201, r));
                    if outcome.is_err() {
                        errors += 1;
                    }
                    results[i] = Some(result_of(op, outcome, &mut created));
                }
                continue;
            }
            let mut refs = Vec::new();
            if let Some(d) = &op.data {
                references(d, &mut refs);
            }
            if let Some(r) = path_reference(&op.path) {
                refs.push(r.to_string());
            }
            if refs.iter().any(|r| !created.contains_key(r)) {
                still.push(i);
                continue;
            }
            progressed = true;
            let mut data = op.data.clone();
            if let Some(d) = data.as_mut() {
                substitute(d, &created);
            }
            let path = match path_reference(&op.path) {
                Some(r) => op.path.replace(&format!("bulkId:{r}"), &created[r]),
                None => op.path.clone(),
            };
            let op_resolved = Op {
                method: op.method.clone(),
                bulk_id: op.bulk_id.clone(),
                version: op.version.clone(),
                path,
                data: None,
            };
            let outcome = execute(&c, &op_resolved, data).await;
            if outcome.is_err() {
                errors += 1;
            }
            results[i] = Some(result_of(op, outcome, &mut created));
            if fail_on_errors.is_some_and(|n| errors >= n) {
                break 'passes;
            }
        }
        pending = still;
        if pending.is_empty() || !progressed {
            break;
        }
    }
    // What is left refers to bulkIds that no operation created.
    for i in pending {
        if results[i].is_some() || fail_on_errors.is_some_and(|n| errors >= n) {
            continue;
        }
        let op = &ops[i];
        let e = ScimError::bad(
            ScimType::InvalidValue,
            "the operation refers to a bulkId that no operation in this request created",
        );
        let mut result = json!({"method": op.method, "status": e.status.to_string(), "response": e.body()});
        if let Some(b) = &op.bulk_id {
            result["bulkId"] = json!(b);
        }
        results[i] = Some(result);
    }
    let body = json!({
        "schemas": [schema::BULK_RESPONSE],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    });
    Ok(super::scim_json(StatusCode::OK, &body))
}
