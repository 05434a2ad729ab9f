//! Audit actions in the admin's words: "console_user.reset_password" reads "Console user:
//! password reset". The stored name stays the key (filters, exports, the CLI).

/// What was done, in words, for the last part of an action's name.
fn verb(v: &str) -> Option<&'static str> {
    Some(match v {
        "create" => "created",
        "delete" => "deleted",
        "update" => "updated",
        "enable" => "enabled",
        "disable" => "disabled",
        "revoke" => "revoked",
        "rename" => "renamed",
        "assign" => "assigned",
        "unassign" => "unassigned",
        "assignment_role" => "assignment's role changed",
        "purge" => "deleted permanently",
        "restore" => "restored",
        "restart" => "restarted",
        "rotate" => "rotated",
        "reset_password" => "password reset",
        "change_role" | "set_role" => "role changed",
        "test_connection" => "connection tested",
        "provision_on_demand" => "provisioned on demand",
        "smtp" => "SMTP server changed",
        "import" => "import",
        "demo_data" => "demo data added",
        "provisioning" => "provisioning configuration saved",
        "compatibility" => "compatibility changed",
        "drift_revert" => "changed account reverted",
        "drift_adopt" => "unmanaged account adopted",
        "drift_disable" => "unmanaged account disabled",
        "drift_delete" => "unmanaged account deleted",
        "add_member" => "member added",
        "remove_member" => "member removed",
        _ => return None,
    })
}

/// The thing acted on, for the first part of an action's name.
fn subject(s: &str) -> String {
    match s {
        "app" => "Application".into(),
        "scim_account" => "SCIM account".into(),
        "scim_api_key" => "API key".into(),
        "scim_group" => "Account user group".into(),
        "scim_user" => "Account user".into(),
        "directory" => "Directory".into(),
        "directory.user" => "Directory user".into(),
        "directory.group" => "Directory group".into(),
        "notifications" => "Notifications".into(),
        "encryption_key" => "Encryption key".into(),
        other => sentence(other),
    }
}

/// "console_user" -> "Console user".
fn sentence(s: &str) -> String {
    let words = s.replace(['_', '.'], " ");
    let mut c = words.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The readable form of a stored audit action.
pub fn audit_action_label(action: &str) -> String {
    match action {
        "sign_in" => return "Sign-in".into(),
        "sign_out" => return "Sign-out".into(),
        _ => {}
    }
    match action.rsplit_once('.') {
        Some((s, v)) => match verb(v) {
            Some(v) => format!("{}: {v}", subject(s)),
            None => format!("{}: {}", subject(s), v.replace('_', " ")),
        },
        None => sentence(action),
    }
}

#[cfg(test)]
mod tests {
    use super::audit_action_label as label;

    #[test]
    fn known_actions_read_as_words() {
        assert_eq!(label("console_user.create"), "Console user: created");
        assert_eq!(
            label("console_user.reset_password"),
            "Console user: password reset"
        );
        assert_eq!(label("scim_api_key.revoke"), "API key: revoked");
        assert_eq!(
            label("directory.user.purge"),
            "Directory user: deleted permanently"
        );
        assert_eq!(
            label("app.provision_on_demand"),
            "Application: provisioned on demand"
        );
        assert_eq!(label("sign_in"), "Sign-in");
    }

    #[test]
    fn unknown_actions_still_read_sensibly() {
        assert_eq!(label("widget.frobnicate_all"), "Widget: frobnicate all");
        assert_eq!(label("something_new"), "Something new");
        assert_eq!(label(""), "");
    }
}
