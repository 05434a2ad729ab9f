//! The planner's rules, each as a test of the pure functions: scope, entitlement, leaving scope,
//! matching, create, the update's difference, switched-off actions, manager references and group
//! memberships; with property tests that an update's operations converge.

use super::*;
use crate::db::sources::GroupSource;
use crate::mapping::export::PatchOp;
use crate::model::{AppRoleInfo, ProvisioningConfig};
use crate::provisioning::engine::ops::patch_json;
use crate::provisioning::engine::policy::{Actions, Policy, Role};
use crate::provisioning::mapped::exported_json;
use crate::scim_client::Declared;
use proptest::prelude::*;
use serde_json::{json, Value as Json};

const USER_MAPPING: &[(&str, &str, &str, i64)] = &[
    ("userName", "direct", "userPrincipalName", 1),
    (
        "active",
        "expression",
        "Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")",
        0,
    ),
    ("displayName", "direct", "displayName", 0),
    ("emails[type eq \"work\"].value", "direct", "mail", 0),
    ("name.givenName", "direct", "givenName", 0),
    ("title", "direct", "jobTitle", 0),
    (ENTERPRISE_MANAGER, "direct", "manager", 0),
];

const GROUP_MAPPING: &[(&str, &str, &str, i64)] = &[
    ("displayName", "direct", "displayName", 1),
    ("externalId", "direct", "objectId", 0),
    ("members", "direct", "members", 0),
];

/// A configuration; `tweak` changes it before it is compiled.
fn config(
    users: &[(&str, &str, &str, i64)],
    tweak: impl FnOnce(&mut serde_json::Value),
) -> ProvisioningConfig {
    let attrs = |list: &[(&str, &str, &str, i64)]| {
        list.iter()
            .map(|(target, kind, source, matching)| {
                json!({"target": target, "kind": kind, "source": source, "matching": matching})
            })
            .collect::<Vec<_>>()
    };
    let mut cfg = json!({
        "mode": "automatic",
        "settings": {
            "scope": "assigned",
            "provisioning_status": "on",
            "prevent_accidental_deletions": true,
            "deletion_threshold": 500,
            "skip_out_of_scope_deletions": false,
            "reconciliation_interval_minutes": 40,
        },
        "mappings": [
            {"object": "user", "enabled": true, "target_object": "User", "create": true,
             "update": true, "delete": true, "attributes": attrs(users), "scoping_filters": []},
            {"object": "group", "enabled": true, "target_object": "Group", "create": true,
             "update": true, "delete": true, "attributes": attrs(GROUP_MAPPING), "scoping_filters": []},
        ],
    });
    tweak(&mut cfg);
    serde_json::from_value(cfg).unwrap()
}

/// The application's roles: User (provisioned) and Default Access (not).
fn app_roles() -> Vec<AppRoleInfo> {
    [("user", "User", true), ("DefaultAccess", "Default Access", false)]
        .into_iter()
        .map(|(value, display, provisioned)| AppRoleInfo {
            value: value.into(),
            display_name: display.into(),
            description: String::new(),
            provisioned,
        })
        .collect()
}

fn policy_of(cfg: &ProvisioningConfig) -> Policy {
    Policy::compile(cfg, &app_roles(), Vec::new()).unwrap().0
}

fn policy() -> Policy {
    policy_of(&config(USER_MAPPING, |_| {}))
}

fn user(upn: &str) -> UserRecord {
    UserRecord {
        id: format!("id-{upn}"),
        upn: upn.into(),
        display_name: "Alex Wilber".into(),
        mail: Some(upn.into()),
        manager_id: None,
        account_enabled: true,
        attrs: json!({"givenName": "Alex", "jobTitle": "Engineer"}).to_string(),
        created_at: String::new(),
        updated_at: String::new(),
        deleted_at: None,
    }
}

fn role(policy: &Policy, value: &str) -> Role {
    policy.role(value.into(), value.into())
}

fn eval(policy: &Policy, u: &UserRecord, roles: &[Role], creating: bool) -> UserEval {
    evaluate_user(policy, false, u, None, roles, creating, None)
}

fn link(exported: &[Exported], state: &str) -> Managed {
    Managed {
        target_id: "t-1".into(),
        exported: exported_json(exported),
        state: state.parse().unwrap(),
        unconfirmed: false,
    }
}

/// What the target holds after `ops` were applied to what it held before, read back the way
/// the connector data store reads it.
fn apply(previous: &[Exported], ops: &[PatchOp]) -> Vec<Exported> {
    let mut held = previous.to_vec();
    for op in ops {
        match op {
            PatchOp::Replace { path, value } => {
                held.retain(|e| &e.target != path);
                let stored = json!([{"target": path, "value": value}]).to_string();
                held.extend(exported_from(&stored));
            }
            PatchOp::Remove { path } => held.retain(|e| &e.target != path),
        }
    }
    held
}

#[test]
fn a_new_user_in_scope_is_looked_up_by_its_matching_attribute_first() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], true);
    assert!(e.in_scope, "{}", e.reason);
    assert_eq!(
        plan_user(&p, &e, None, None),
        UserPlan::NeedsLookup {
            matching: vec![("userName".into(), Value::str("alex@contoso.com"))]
        }
    );
}

#[test]
fn a_user_the_target_does_not_have_is_created_with_every_mapped_value() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], true);
    let UserPlan::Create { document } = plan_user(&p, &e, None, Some(&Matched::Missing)) else {
        panic!("expected a create");
    };
    assert_eq!(document["userName"], "alex@contoso.com");
    assert_eq!(
        document["active"], true,
        "the Switch's text is sent as a SCIM boolean"
    );
    assert_eq!(document["name"]["givenName"], "Alex");
    assert_eq!(document["emails"][0]["value"], "alex@contoso.com");
}

#[test]
fn create_switched_off_creates_nothing() {
    let p = policy_of(&config(USER_MAPPING, |c| {
        c["mappings"][0]["create"] = json!(false)
    }));
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], true);
    assert_eq!(
        plan_user(&p, &e, None, Some(&Matched::Missing)),
        UserPlan::CreateSwitchedOff
    );
}

#[test]
fn a_matched_user_gets_every_value_and_is_linked() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], true);
    let found = Matched::Found {
        id: "t-9".into(),
        resource: json!({"id": "t-9"}),
    };
    let plan = plan_user(&p, &e, None, Some(&found));
    let UserPlan::Update {
        target_id,
        previous,
        ops,
        presence_changed,
        manager_only,
        fresh,
    } = plan
    else {
        panic!("expected an update, got {plan:?}");
    };
    assert_eq!(target_id, "t-9");
    assert!(previous.is_empty());
    assert_eq!(ops.len(), e.exported.as_ref().unwrap().len());
    assert!(presence_changed && !manager_only && fresh);
    // Nothing is held, so every value is an add: a filtered path has nothing to replace.
    assert!(patch_json(&ops, &previous, &[], &Declared::default(), Kind::User)
        .iter()
        .all(|op| op["op"] == "add"));
}

#[test]
fn a_matched_account_is_compared_with_what_it_holds() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], true);
    let exported = e.exported.as_ref().unwrap();
    // It holds exactly what the mappings export (another spelling of the case-insensitive
    // userName, Entra's "True" as a boolean): linked, nothing sent.
    let mut resource = Json::Object(document(exported));
    resource["id"] = json!("t-9");
    resource["userName"] = json!("ALEX@contoso.com");
    let found = Matched::Found {
        id: "t-9".into(),
        resource: resource.clone(),
    };
    assert_eq!(
        plan_user(&p, &e, None, Some(&found)),
        UserPlan::InSync {
            target_id: "t-9".into(),
            remember: true
        }
    );
    // One value differs: only it is sent.
    resource["displayName"] = json!("Someone Else");
    let found = Matched::Found {
        id: "t-9".into(),
        resource,
    };
    let UserPlan::Update {
        ops, previous, fresh, ..
    } = plan_user(&p, &e, None, Some(&found))
    else {
        panic!("expected an update");
    };
    assert!(fresh);
    let paths: Vec<&str> = ops
        .iter()
        .map(|op| match op {
            PatchOp::Replace { path, .. } | PatchOp::Remove { path } => path.as_str(),
        })
        .collect();
    assert_eq!(paths, ["displayName"]);
    assert_eq!(
        patch_json(&ops, &previous, &[], &Declared::default(), Kind::User)[0]["op"],
        "add"
    );
}

#[test]
fn a_linked_user_whose_values_did_not_change_is_in_sync() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], false);
    let m = link(e.exported.as_ref().unwrap(), "active");
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::InSync {
            target_id: "t-1".into(),
            remember: false
        }
    );
}

#[test]
fn an_update_sends_only_the_difference_and_removes_a_value_that_is_gone() {
    let p = policy();
    let before = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], false);
    let mut changed = user("alex@contoso.com");
    changed.display_name = "Alex W.".into();
    changed.attrs = json!({"givenName": "Alex"}).to_string();
    let e = eval(&p, &changed, &[role(&p, "user")], false);
    let m = link(before.exported.as_ref().unwrap(), "active");
    let UserPlan::Update {
        ops,
        presence_changed,
        ..
    } = plan_user(&p, &e, Some(&m), None)
    else {
        panic!("expected an update");
    };
    assert_eq!(
        ops,
        vec![
            PatchOp::Replace {
                path: "displayName".into(),
                value: json!("Alex W.")
            },
            PatchOp::Remove { path: "title".into() },
        ]
    );
    assert!(!presence_changed);
}

#[test]
fn update_switched_off_sends_nothing() {
    let p = policy_of(&config(USER_MAPPING, |c| {
        c["mappings"][0]["update"] = json!(false)
    }));
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], false);
    let m = link(&[], "active");
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::UpdateSwitchedOff {
            target_id: "t-1".into()
        }
    );
}

#[test]
fn a_user_re_enabled_in_the_directory_changes_presence() {
    let p = policy();
    let mut disabled = user("alex@contoso.com");
    disabled.account_enabled = false;
    let before = eval(&p, &disabled, &[role(&p, "user")], false);
    let m = link(before.exported.as_ref().unwrap(), "active");
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], false);
    let UserPlan::Update {
        ops,
        presence_changed,
        ..
    } = plan_user(&p, &e, Some(&m), None)
    else {
        panic!("expected an update");
    };
    assert_eq!(
        ops,
        vec![PatchOp::Replace {
            path: "active".into(),
            value: json!("True")
        }]
    );
    assert!(presence_changed);
}

#[test]
fn a_user_leaving_scope_is_disabled_when_the_mapping_writes_active() {
    let p = policy();
    let mut u = user("alex@contoso.com");
    u.account_enabled = false;
    let e = eval(&p, &u, &[role(&p, "user")], false);
    assert!(!e.in_scope);
    let m = link(&[], "active");
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::Deprovision { delete: false }
    );
}

#[test]
fn a_user_leaving_scope_is_deleted_when_the_mapping_does_not_write_active() {
    let without_active: Vec<_> = USER_MAPPING.iter().copied().filter(|a| a.0 != "active").collect();
    let p = policy_of(&config(&without_active, |_| {}));
    let e = eval(&p, &user("alex@contoso.com"), &[], false);
    let m = link(&[], "active");
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::Deprovision { delete: true }
    );
}

#[test]
fn skip_out_of_scope_deletions_or_delete_switched_off_keeps_the_user_enabled() {
    let skip = policy_of(&config(USER_MAPPING, |c| {
        c["settings"]["skip_out_of_scope_deletions"] = json!(true)
    }));
    let off = policy_of(&config(USER_MAPPING, |c| {
        c["mappings"][0]["delete"] = json!(false)
    }));
    let m = link(&[], "active");
    for (p, kept) in [(skip, Kept::SkipOutOfScope), (off, Kept::DeleteSwitchedOff)] {
        let e = eval(&p, &user("alex@contoso.com"), &[], false);
        assert_eq!(plan_user(&p, &e, Some(&m), None), UserPlan::KeptEnabled(kept));
    }
}

#[test]
fn a_user_out_of_scope_and_already_disabled_is_left_alone_and_an_old_link_is_confirmed() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[], false);
    let mut m = link(&[], "disabled");
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::AlreadyDisabled { relink: false }
    );
    m.unconfirmed = true;
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::AlreadyDisabled { relink: true }
    );
}

#[test]
fn a_user_never_provisioned_and_not_assigned_is_not_even_imported() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[], true);
    assert_eq!(e.reason, "The user is not assigned to the application.");
    assert_eq!(
        plan_user(&p, &e, None, None),
        UserPlan::Untouched {
            imported: false,
            not_entitled: false
        }
    );
}

#[test]
fn sync_all_users_puts_unassigned_users_in_scope() {
    let p = policy_of(&config(USER_MAPPING, |c| c["settings"]["scope"] = json!("all")));
    let e = eval(&p, &user("alex@contoso.com"), &[], true);
    assert!(e.in_scope);
}

#[test]
fn a_scoping_filter_that_does_not_match_takes_the_user_out_of_scope() {
    let p = policy_of(&config(USER_MAPPING, |c| {
        c["mappings"][0]["scoping_filters"] = json!([{"title": "Sales", "clauses": [
            {"attribute": "department", "operator": "EQUALS", "value": "Sales"}]}])
    }));
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "user")], true);
    assert!(!e.in_scope);
    assert_eq!(e.reason, "The user does not match the scoping filters.");
}

#[test]
fn a_user_without_a_matching_value_cannot_be_matched_or_created() {
    let by_mail: Vec<_> = USER_MAPPING
        .iter()
        .map(|&(t, k, s, m)| match t {
            "userName" => (t, k, s, 0),
            t if t.starts_with("emails") => (t, k, s, 1),
            _ => (t, k, s, m),
        })
        .collect();
    let p = policy_of(&config(&by_mail, |_| {}));
    let mut u = user("alex@contoso.com");
    u.mail = None;
    let e = eval(&p, &u, &[role(&p, "user")], true);
    assert_eq!(plan_user(&p, &e, None, None), UserPlan::Unmatchable);
}

#[test]
fn a_manager_without_a_target_id_is_left_out_and_reported_then_sent_alone() {
    let p = policy();
    let mut u = user("alex@contoso.com");
    u.manager_id = Some("id-boss".into());
    let without = evaluate_user(
        &p,
        false,
        &u,
        Some("boss@contoso.com".into()),
        &[role(&p, "user")],
        false,
        None,
    );
    assert!(without.manager_unresolved);
    let list = without.exported.as_ref().unwrap();
    assert!(!list.iter().any(|e| e.target == ENTERPRISE_MANAGER));
    let with = evaluate_user(
        &p,
        false,
        &u,
        Some("boss@contoso.com".into()),
        &[role(&p, "user")],
        false,
        Some("t-boss"),
    );
    assert!(!with.manager_unresolved);
    let UserPlan::Update {
        ops, manager_only, ..
    } = plan_user(&p, &with, Some(&link(list, "active")), None)
    else {
        panic!("expected an update");
    };
    assert_eq!(
        ops,
        vec![PatchOp::Replace {
            path: ENTERPRISE_MANAGER.into(),
            value: json!({"value": "t-boss"})
        }]
    );
    assert!(manager_only);
}

fn group(members: &[&str]) -> (GroupSource, BTreeSet<String>) {
    let g = GroupSource {
        id: "g-1".into(),
        display_name: "Sales".into(),
        description: String::new(),
        mail_nickname: String::new(),
        members: Vec::new(),
    };
    (g, members.iter().map(|m| m.to_string()).collect())
}

#[test]
fn a_new_group_is_looked_up_then_created_with_its_members_added_after() {
    let p = policy();
    let mapping = p.groups.as_ref().unwrap();
    let (g, members) = group(&["u1", "u2"]);
    let e = evaluate_group(mapping, &g, &members, true).unwrap();
    assert_eq!(
        plan_group(mapping, p.group_actions, &e, None, None),
        GroupPlan::NeedsLookup {
            matching: vec![("displayName".into(), Value::str("Sales"))]
        }
    );
    let GroupPlan::Create { document, add } =
        plan_group(mapping, p.group_actions, &e, None, Some(&Matched::Missing))
    else {
        panic!("expected a create");
    };
    assert_eq!(document["displayName"], "Sales");
    assert!(
        document.get("members").is_none(),
        "members are added after the create"
    );
    assert_eq!(add, vec!["u1".to_string(), "u2".to_string()]);
    let off = Actions {
        create: false,
        ..Actions::ALL
    };
    assert_eq!(
        plan_group(mapping, off, &e, None, Some(&Matched::Missing)),
        GroupPlan::CreateSwitchedOff
    );
}

#[test]
fn a_group_s_memberships_change_as_a_difference() {
    let p = policy();
    let mapping = p.groups.as_ref().unwrap();
    let (g, before) = group(&["u1", "u2"]);
    let old = evaluate_group(mapping, &g, &before, false).unwrap();
    let m = link(&with_members(old.attrs.clone(), &old.wanted), "active");
    let (_, after) = group(&["u2", "u3"]);
    let e = evaluate_group(mapping, &g, &after, false).unwrap();
    let plan = plan_group(mapping, p.group_actions, &e, Some(&m), None);
    let GroupPlan::Update {
        attr_ops,
        add,
        remove,
        had,
        ..
    } = plan
    else {
        panic!("expected an update");
    };
    assert!(attr_ops.is_empty());
    assert_eq!((add, remove), (vec!["u3".to_string()], vec!["u1".to_string()]));
    assert_eq!(had, before);
    let off = Actions {
        update: false,
        ..Actions::ALL
    };
    assert_eq!(
        plan_group(mapping, off, &e, Some(&m), None),
        GroupPlan::UpdateSwitchedOff {
            target_id: "t-1".into()
        }
    );
}

#[test]
fn default_access_alone_is_never_in_scope_of_assigned_users() {
    let p = policy();
    let e = eval(&p, &user("alex@contoso.com"), &[role(&p, "DefaultAccess")], true);
    assert!(!e.in_scope);
    assert_eq!(
        plan_user(&p, &e, None, None),
        UserPlan::Untouched {
            imported: true,
            not_entitled: true
        }
    );
    let m = link(&[], "active");
    assert_eq!(
        plan_user(&p, &e, Some(&m), None),
        UserPlan::Deprovision { delete: false }
    );
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-z0-9 .@-]{1,12}")
}

fn user_with(
    name: String,
    mail: Option<String>,
    given: Option<String>,
    title: Option<String>,
    enabled: bool,
) -> UserRecord {
    let mut attrs = serde_json::Map::new();
    for (k, v) in [("givenName", given), ("jobTitle", title)] {
        if let Some(v) = v {
            attrs.insert(k.into(), json!(v));
        }
    }
    UserRecord {
        display_name: name,
        mail,
        account_enabled: enabled,
        attrs: serde_json::Value::Object(attrs).to_string(),
        ..user("alex@contoso.com")
    }
}

proptest! {
    /// Whatever a user was and became, the update's operations applied to what the target held
    /// leave nothing to send: the next plan is InSync.
    #[test]
    fn an_update_applied_converges(
        before in ("[A-Za-z ]{1,12}", text(), text(), text(), any::<bool>()),
        after in ("[A-Za-z ]{1,12}", text(), text(), text(), any::<bool>()),
    ) {
        let p = policy();
        let roles = [role(&p, "user")];
        let old = eval(&p, &user_with(before.0, before.1, before.2, before.3, before.4), &roles, false);
        let previous = old.exported.clone().unwrap();
        let mut u = user_with(after.0, after.1, after.2, after.3, after.4);
        // Still in scope even when disabled in the directory: compare values, not scope.
        u.account_enabled = true;
        let new = eval(&p, &u, &roles, false);
        let m = link(&previous, "active");
        match plan_user(&p, &new, Some(&m), None) {
            UserPlan::InSync { .. } => {}
            UserPlan::Update { ops, previous: held, .. } => {
                let after = apply(&held, &ops);
                let plan = plan_user(&p, &new, Some(&link(&after, "active")), None);
                prop_assert_eq!(plan, UserPlan::InSync { target_id: "t-1".into(), remember: false });
            }
            other => prop_assert!(false, "unexpected plan {:?}", other),
        }
    }

    /// Out of scope is never an update or a create: a linked active user is deprovisioned (or
    /// kept, by the settings), whatever its attributes.
    #[test]
    fn a_user_out_of_scope_is_never_written_to(
        attrs in ("[A-Za-z ]{1,12}", text(), text(), text()),
        skip in any::<bool>(),
        delete in any::<bool>(),
    ) {
        let p = policy_of(&config(USER_MAPPING, |c| {
            c["settings"]["skip_out_of_scope_deletions"] = json!(skip);
            c["mappings"][0]["delete"] = json!(delete);
        }));
        let e = eval(&p, &user_with(attrs.0, attrs.1, attrs.2, attrs.3, false), &[role(&p, "user")], false);
        let plan = plan_user(&p, &e, Some(&link(&[], "active")), None);
        let expected = match (skip, delete) {
            (true, _) => UserPlan::KeptEnabled(Kept::SkipOutOfScope),
            (false, false) => UserPlan::KeptEnabled(Kept::DeleteSwitchedOff),
            (false, true) => UserPlan::Deprovision { delete: false },
        };
        prop_assert_eq!(plan, expected);
    }

    /// A group's member difference applied to what the target held gives what the directory
    /// wants: the next plan is InSync.
    #[test]
    fn a_membership_difference_applied_converges(
        before in prop::collection::btree_set("u[0-9]{1,2}", 0..20),
        after in prop::collection::btree_set("u[0-9]{1,2}", 0..20),
    ) {
        let p = policy();
        let mapping = p.groups.as_ref().unwrap();
        let (g, _) = group(&[]);
        let old = evaluate_group(mapping, &g, &before, false).unwrap();
        let m = link(&with_members(old.attrs.clone(), &old.wanted), "active");
        let e = evaluate_group(mapping, &g, &after, false).unwrap();
        match plan_group(mapping, p.group_actions, &e, Some(&m), None) {
            GroupPlan::InSync { .. } => prop_assert_eq!(&before, &after),
            GroupPlan::Update { had, add, remove, attr_ops, .. } => {
                prop_assert!(attr_ops.is_empty());
                let mut held = had.clone();
                held.extend(add);
                for r in &remove {
                    held.remove(r);
                }
                prop_assert_eq!(&held, &after);
                let m = link(&with_members(e.attrs.clone(), &held), "active");
                let again = plan_group(mapping, p.group_actions, &e, Some(&m), None);
                prop_assert!(matches!(again, GroupPlan::InSync { .. }), "{:?}", again);
            }
            other => prop_assert!(false, "unexpected plan {:?}", other),
        }
    }
}

/// What a matched (or drift-checked) account already holds: scalars by SCIM's comparison, and
/// complex values (a manager reference) when the account holds every part of them, whatever it
/// adds ($ref, displayName). A manager used to count as never held, so every matched user with
/// a manager got an update and every managed one showed as drifted.
#[test]
fn a_held_value_may_be_complex() {
    let e = |target: &str, value: Value| Exported {
        target: target.into(),
        value,
        redacted: false,
    };
    let account = json!({
        "userName": "Ann@Contoso.com",
        "emails": [{"type": "home", "value": "a@home"}, {"type": "work", "value": "ann@contoso.com"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": {"value": "m-1", "$ref": "../Users/m-1", "displayName": "Boss"}
        },
        "roles": [{"value": "admin"}, {"value": "dev"}]
    });
    let sent = vec![
        e("userName", Value::Str("ann@contoso.com".into())),
        e(
            "emails[type eq \"work\"].value",
            Value::Str("ann@contoso.com".into()),
        ),
        e(ENTERPRISE_MANAGER, Value::Json(json!({"value": "m-1"}))),
        e("roles", Value::Json(json!([{"value": "dev"}]))),
        e("title", Value::Str("Dev".into())),
    ];
    let targets: Vec<String> = held(Kind::User, &account, &sent)
        .into_iter()
        .map(|h| h.target)
        .collect();
    assert_eq!(
        targets,
        [
            "userName",
            "emails[type eq \"work\"].value",
            ENTERPRISE_MANAGER,
            "roles"
        ]
    );
    let other = vec![e(ENTERPRISE_MANAGER, Value::Json(json!({"value": "m-2"})))];
    assert!(held(Kind::User, &account, &other).is_empty());
    assert_eq!(
        found(Kind::User, &account, "emails[type eq \"work\"].value"),
        Some(json!("ann@contoso.com"))
    );
}
