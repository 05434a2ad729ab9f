//! What a cycle knows before it looks at any object and never changes during it: the compiled
//! mappings and scoping filters, the target object actions, the scope setting, how leaving scope
//! is handled, and which app roles are provisioned. Pure: built from the configuration and the
//! application's roles, with no I/O.

use crate::db::sources::RoleGrant;
use crate::mapping::export::Mapping;
use crate::mapping::scoping::Scope;
use crate::model::{AppRoleInfo, MappedObject, ProvisioningConfig, SyncScope};
use crate::provisioning::mapped::{filters, specs};
use crate::provisioning::source;
use std::collections::HashMap;

/// The mapping's Target Object Actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Actions {
    pub(super) create: bool,
    pub(super) update: bool,
    pub(super) delete: bool,
}

impl Actions {
    pub(super) const ALL: Actions = Actions {
        create: true,
        update: true,
        delete: true,
    };
}

/// One of a user's (or an assigned group's) roles in the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Role {
    /// Empty for an assignment without a role.
    pub(super) value: String,
    pub(super) display: String,
    /// False for a role whose users are not provisioned (Harness's Default Access).
    pub(super) provisioned: bool,
}

/// A user's roles in the application, direct or through an assigned group; each value once.
pub(super) type Roles = Vec<Role>;

/// Adds `role` unless the list already has its value.
pub(super) fn add_role(list: &mut Roles, role: Role) {
    if !list.iter().any(|r| r.value == role.value) {
        list.push(role);
    }
}

/// A configuration the engine cannot run with: which part, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub part: &'static str,
    pub message: String,
}

/// See the module documentation.
pub(super) struct Policy {
    pub(super) users: Mapping,
    pub(super) user_scope: Scope,
    pub(super) user_actions: Actions,
    /// The users mapping writes `active`: deprovisioning disables; otherwise it deletes.
    pub(super) soft_delete: bool,
    /// None when the groups mapping is off.
    pub(super) groups: Option<Mapping>,
    pub(super) group_scope: Scope,
    pub(super) group_actions: Actions,
    /// "Sync all users and groups" rather than only the assigned ones.
    pub(super) all: bool,
    pub(super) skip_out_of_scope: bool,
    /// Whether each app role is provisioned (Default Access is not).
    provisioned: HashMap<String, bool>,
    app_has_roles: bool,
    /// Per assigned group: whether any of its roles is provisioned.
    group_entitled: HashMap<String, bool>,
}

impl Policy {
    /// Compiles `cfg` for an application with `app_roles`. `group_assignments` are the assigned
    /// groups as (group id, role value, role display name); each group's roles are returned too.
    pub(super) fn compile(
        cfg: &ProvisioningConfig,
        app_roles: &[AppRoleInfo],
        group_assignments: Vec<RoleGrant>,
    ) -> Result<(Policy, HashMap<String, Roles>), Invalid> {
        let mapping = |object: MappedObject| {
            Mapping::new(&specs(cfg, object)).map_err(|message| Invalid {
                part: "mappings",
                message,
            })
        };
        let scope = |object: MappedObject| {
            Scope::new(&filters(cfg, object)).map_err(|message| Invalid {
                part: "scoping",
                message,
            })
        };
        let actions = |object: MappedObject| {
            cfg.mappings
                .iter()
                .find(|m| m.object == object)
                .map(|m| Actions {
                    create: m.create,
                    update: m.update,
                    delete: m.delete,
                })
                .unwrap_or(Actions::ALL)
        };
        let users = mapping(MappedObject::User)?;
        let groups = match cfg.mappings.iter().find(|m| m.object == MappedObject::Group) {
            Some(g) if g.enabled => Some(mapping(MappedObject::Group)?),
            _ => None,
        };
        let mut policy = Policy {
            soft_delete: users.writes("active"),
            users,
            user_scope: scope(MappedObject::User)?,
            user_actions: actions(MappedObject::User),
            groups,
            group_scope: scope(MappedObject::Group)?,
            group_actions: actions(MappedObject::Group),
            all: cfg.settings.scope == SyncScope::All,
            skip_out_of_scope: cfg.settings.skip_out_of_scope_deletions,
            provisioned: app_roles
                .iter()
                .map(|r| (r.value.clone(), r.provisioned))
                .collect(),
            app_has_roles: !app_roles.is_empty(),
            group_entitled: HashMap::new(),
        };
        let mut group_roles: HashMap<String, Roles> = HashMap::new();
        for RoleGrant {
            principal: group,
            role,
            display,
        } in group_assignments
        {
            let role = policy.role(role, display);
            *policy.group_entitled.entry(group.clone()).or_default() |=
                !policy.app_has_roles || role.provisioned;
            group_roles.entry(group).or_default().push(role);
        }
        Ok((policy, group_roles))
    }

    /// A role of this application. A role the application does not define counts as provisioned
    /// only when the application has no roles at all.
    pub(super) fn role(&self, value: String, display: String) -> Role {
        let provisioned = self
            .provisioned
            .get(&value)
            .copied()
            .unwrap_or(!self.app_has_roles);
        Role {
            value,
            display,
            provisioned,
        }
    }

    /// Whether a user with `roles` is effectively entitled: assigned, and (when the application
    /// has roles) with at least one role that is provisioned.
    pub(super) fn entitled(&self, roles: &[Role]) -> bool {
        !roles.is_empty()
            && (!self.app_has_roles || roles.iter().any(|r| !r.value.is_empty() && r.provisioned))
    }

    /// Whether a directory group is in the group scope: entitled (or everyone is in scope) and
    /// passing the group scoping filters.
    pub(super) fn group_in_scope(&self, g: &crate::db::sources::GroupSource) -> bool {
        let entitled = self.all || self.group_entitled.get(&g.id).copied().unwrap_or(false);
        let gc = source::GroupContext::new(
            &g.id,
            &g.display_name,
            &g.description,
            &g.mail_nickname,
            Vec::new(),
        );
        entitled
            && self
                .group_scope
                .matches(&|a: &str| crate::mapping::expr::Context::attribute(&gc, a))
    }
}
