//! What mappings read: the source attributes of directory users and groups, including the
//! computed ones (`objectId`, `IsSoftDeleted`, `appRoleAssignments`, `members`), and a directory
//! user seen as an expression [`Context`].

use crate::db::directory::UserRecord;
use crate::db::{self, Pool};
use crate::directory::DirError;
use crate::mapping::expr::Context;
use crate::mapping::Value;
use crate::model::USER_ATTRS;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Computed attributes of a user besides its stored ones.
pub const USER_COMPUTED: [&str; 4] = ["objectId", "IsSoftDeleted", "appRoleAssignments", "manager"];
/// A group's source attributes.
pub const GROUP_SOURCES: [&str; 6] = [
    "objectId",
    "displayName",
    "description",
    "mailNickname",
    "members",
    "IsSoftDeleted",
];

/// Every source attribute a users mapping may read, in the order pickers show them.
pub fn user_sources() -> Vec<String> {
    let mut out: Vec<String> = ["userPrincipalName", "displayName", "mail", "accountEnabled"]
        .iter()
        .chain(USER_COMPUTED.iter())
        .map(|s| s.to_string())
        .collect();
    out.extend(USER_ATTRS.iter().map(|a| a.name.to_string()));
    out
}

pub fn group_sources() -> Vec<String> {
    GROUP_SOURCES.iter().map(|s| s.to_string()).collect()
}

/// The canonical spelling of a source attribute of `object` ("user" or "group"), matched in any
/// case, as Entra does.
pub fn canonical(object: &str, name: &str) -> Option<String> {
    let list = if object == "group" {
        group_sources()
    } else {
        user_sources()
    };
    list.into_iter().find(|a| a.eq_ignore_ascii_case(name.trim()))
}

/// The most bytes a source attribute can hold: the directory's limit in characters at four bytes
/// each; what an expression is checked against before it is saved (see
/// [`crate::mapping::expr::budget`]). `""` is an attribute named at run time: the longest of all.
pub fn max_bytes(object: &str, name: &str) -> usize {
    const ROLES: usize = 64 << 10;
    // A group of 100,000 members, each a target id of up to 64 bytes.
    const MEMBERS: usize = 100_000 * (64 + crate::mapping::expr::budget::ITEM_OVERHEAD);
    let chars = |n: usize| n * 4;
    match (object, name.to_ascii_lowercase().as_str()) {
        ("group", "members") => MEMBERS,
        ("group", "description") => chars(1024),
        ("group", _) => chars(256),
        (_, "objectid") => 36,
        (_, "issoftdeleted" | "accountenabled") => 8,
        (_, "approleassignments") => ROLES,
        (_, "") => ROLES,
        (_, other) => crate::model::user_attr(other).map_or(chars(1024), |d| chars(d.max)),
    }
}

/// A directory user as the expression language sees it.
pub struct UserContext {
    attrs: BTreeMap<String, Value>,
}

impl UserContext {
    /// `roles` are the user's app roles in the application (value, display name), direct or
    /// through a group; `in_scope` says whether it is assigned (or the scope is everyone).
    pub fn new(
        u: &UserRecord,
        manager_upn: Option<String>,
        roles: &[(String, String)],
        in_scope: bool,
    ) -> Self {
        let mut attrs: BTreeMap<String, Value> = BTreeMap::new();
        let stored: BTreeMap<String, String> = serde_json::from_str(&u.attrs).unwrap_or_default();
        for (k, v) in stored {
            attrs.insert(k.to_lowercase(), Value::Str(v));
        }
        attrs.insert("objectid".into(), Value::str(&u.id));
        attrs.insert("userprincipalname".into(), Value::str(&u.upn));
        attrs.insert("displayname".into(), Value::str(&u.display_name));
        if let Some(m) = &u.mail {
            attrs.insert("mail".into(), Value::str(m));
        }
        attrs.insert("accountenabled".into(), Value::Bool(u.account_enabled));
        let soft_deleted = u.deleted_at.is_some() || !u.account_enabled || !in_scope;
        attrs.insert("issoftdeleted".into(), Value::Bool(soft_deleted));
        if let Some(m) = manager_upn {
            attrs.insert("manager".into(), Value::Str(m));
        }
        if !roles.is_empty() {
            attrs.insert(
                "approleassignments".into(),
                Value::Multi(
                    roles
                        .iter()
                        .map(|(value, display)| {
                            Value::Json(serde_json::json!({"value": value, "displayName": display}))
                        })
                        .collect(),
                ),
            );
        }
        UserContext { attrs }
    }
}

/// Attributes by lower-cased name: what both contexts are.
fn lookup(attrs: &BTreeMap<String, Value>, name: &str) -> Value {
    attrs.get(&name.to_lowercase()).cloned().unwrap_or(Value::Null)
}

fn random(buf: &mut [u8]) {
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(buf);
}

macro_rules! attribute_context {
    ($t:ty) => {
        impl Context for $t {
            fn attribute(&self, name: &str) -> Value {
                lookup(&self.attrs, name)
            }

            fn now(&self) -> OffsetDateTime {
                OffsetDateTime::now_utc()
            }

            fn fill_random(&self, buf: &mut [u8]) {
                random(buf)
            }
        }
    };
}

attribute_context!(UserContext);
attribute_context!(GroupContext);

/// A directory group as the expression language sees it; `members` are the target ids of its
/// direct user members that are provisioned (groups reference users by their target ids).
pub struct GroupContext {
    attrs: BTreeMap<String, Value>,
}

impl GroupContext {
    pub fn new(
        id: &str,
        display_name: &str,
        description: &str,
        mail_nickname: &str,
        members: Vec<String>,
    ) -> Self {
        let mut attrs = BTreeMap::new();
        attrs.insert("objectid".to_string(), Value::str(id));
        attrs.insert("displayname".to_string(), Value::str(display_name));
        if !description.is_empty() {
            attrs.insert("description".to_string(), Value::str(description));
        }
        if !mail_nickname.is_empty() {
            attrs.insert("mailnickname".to_string(), Value::str(mail_nickname));
        }
        attrs.insert("issoftdeleted".to_string(), Value::Bool(false));
        if !members.is_empty() {
            attrs.insert(
                "members".to_string(),
                Value::Multi(members.into_iter().map(Value::Str).collect()),
            );
        }
        GroupContext { attrs }
    }
}

/// A directory user read for one application: the record, its manager, its assignments and
/// what they mean for scope, and the expression context mappings evaluate against. Provision on
/// demand and the expression tester read users the same way, so `IsSoftDeleted` means the same
/// in both.
pub struct SourceUser {
    pub user: UserRecord,
    pub manager: Option<UserRecord>,
    /// (role value, display name) of each assignment, direct or through a group; the value is
    /// empty when the application has no roles.
    pub assignments: Vec<(String, String)>,
    /// Assigned with a role that is provisioned (Default Access is not).
    pub entitled: bool,
    pub ctx: UserContext,
}

/// Reads a user by object id or userPrincipalName for application `app`; a user that does not
/// exist is an error on the field `field`.
pub async fn load_user(
    pool: &Pool,
    app: &str,
    all_users: bool,
    user_ref: &str,
    field: &str,
) -> Result<SourceUser, DirError> {
    let r = user_ref.trim();
    let mut conn = pool.acquire().await?;
    let user = db::directory::user_by_ref(&mut conn, r).await?.ok_or_else(|| {
        crate::directory::invalid(field, format!("there is no user {r:?} in the directory"))
    })?;
    let manager = match &user.manager_id {
        Some(m) => db::directory::user(&mut conn, m).await?,
        None => None,
    };
    drop(conn);
    let assignments = db::provisioning::roles_of_user(pool, app, &user.id).await?;
    let app_roles = db::apps::roles(pool, app).await?;
    let entitled = app_roles.is_empty()
        || assignments
            .iter()
            .any(|(v, _)| app_roles.iter().any(|r| &r.value == v && r.provisioned));
    let roles: Vec<(String, String)> = assignments
        .iter()
        .filter(|(v, _)| !v.is_empty())
        .cloned()
        .collect();
    let in_scope = all_users || (!assignments.is_empty() && entitled);
    let ctx = UserContext::new(&user, manager.as_ref().map(|m| m.upn.clone()), &roles, in_scope);
    Ok(SourceUser {
        user,
        manager,
        assignments,
        entitled,
        ctx,
    })
}
