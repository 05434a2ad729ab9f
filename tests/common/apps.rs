//! An enterprise application provisioning into a local account of the same server, and the
//! directory calls the provisioning tests make.

use super::{call, csrf, ok, signed_in, tenant, Server, Tenant, ADMIN_PASSWORD};
use serde_json::Value;

pub struct Setup {
    pub s: Server,
    pub c: reqwest::Client,
    pub t: String,
    pub app: String,
    pub target: Tenant,
    pub _dir: tempfile::TempDir,
}

/// An application in a server of its own (`env`), targeting `target` (another server's account
/// or a peer).
pub async fn setup_targeting(template: &str, target: Tenant, env: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_env(dir.path(), env);
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let app = ok(call(
        &c,
        &s,
        "apps/create",
        &[("csrf", &t), ("template", template), ("name", "Target")],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string();
    Setup {
        s,
        c,
        t,
        app,
        target,
        _dir: dir,
    }
}

/// Starts the server again on the same data directory (after a kill), signed in afresh.
pub async fn restart(x: Setup, env: &[(&str, &str)]) -> Setup {
    let Setup {
        s, app, target, _dir, ..
    } = x;
    s.kill();
    let s = Server::start_with_env(_dir.path(), env);
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    Setup {
        s,
        c,
        t,
        app,
        target,
        _dir,
    }
}

/// An application provisioning into scim2-server (`../shared/peers/`), software written elsewhere;
/// None when the peers are not installed. The peer runs until it is dropped.
#[allow(dead_code)]
pub async fn targeting_scim2_server() -> Option<(super::peers::Scim2Server, Setup)> {
    let peer = super::peers::Scim2Server::start()?;
    let target = Tenant {
        account: String::new(),
        url: peer.url.clone(),
        key: peer.token.clone(),
    };
    let x = setup_targeting("scim2", target, &[]).await;
    Some((peer, x))
}

pub async fn setup() -> Setup {
    setup_with("harness", &[]).await
}

/// An application from `template` targeting a fresh local account, the server started with `env`.
pub async fn setup_with(template: &str, env: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_env(dir.path(), env);
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let target = tenant(&s, "Harness account");
    let app = ok(call(
        &c,
        &s,
        "apps/create",
        &[("csrf", &t), ("template", template), ("name", "Harness")],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string();
    let x = Setup {
        s,
        c,
        t,
        app,
        target,
        _dir: dir,
    };
    let key = x.target.key.clone();
    x.configure(&key).await;
    x
}

impl Setup {
    /// Automatic provisioning into the local account with `token`.
    pub async fn configure(&self, token: &str) {
        self.configure_with(token, "off", "500").await
    }

    /// Automatic provisioning into the local account with `token`, Provisioning Status `status`
    /// and the accidental-deletion threshold `threshold`.
    pub async fn configure_with(&self, token: &str, status: &str, threshold: &str) {
        self.configure_fields(&[
            ("secret_token", token),
            ("provisioning_status", status),
            ("deletion_threshold", threshold),
        ])
        .await
    }

    /// Saves the provisioning page: Automatic into the local account, Off, assigned users only,
    /// with `fields` replacing those defaults.
    pub async fn configure_fields(&self, fields: &[(&str, &str)]) {
        let mut form = vec![
            ("csrf", self.t.as_str()),
            ("app", &self.app),
            ("intent", "save"),
            ("mode", "automatic"),
            ("tenant_url", &self.target.url),
            ("secret_token", &self.target.key),
            ("scope", "assigned"),
            ("provisioning_status", "off"),
            ("prevent_deletions", "on"),
            ("deletion_threshold", "500"),
            ("reconciliation_interval_minutes", "40"),
        ];
        for (k, v) in fields {
            match form.iter_mut().find(|(f, _)| f == k) {
                Some(slot) => slot.1 = v,
                None => form.push((k, v)),
            }
        }
        ok(call(&self.c, &self.s, "provisioning/save", &form).await).await;
    }

    pub async fn user(&self, upn: &str, name: &str, extra: &[(&str, &str)]) -> String {
        let mut form = vec![
            ("csrf", self.t.as_str()),
            ("attrs[userPrincipalName]", upn),
            ("attrs[displayName]", name),
        ];
        form.extend_from_slice(extra);
        ok(call(&self.c, &self.s, "directory/create_user", &form).await)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn assign(&self, principal: &str, role: &str) {
        ok(call(
            &self.c,
            &self.s,
            "apps/assign",
            &[
                ("csrf", &self.t),
                ("app", &self.app),
                ("principal", principal),
                ("role", role),
            ],
        )
        .await)
        .await;
    }

    pub async fn set_enabled(&self, id: &str, enabled: bool) {
        let enabled = enabled.to_string();
        let form = [
            ("csrf", self.t.as_str()),
            ("id", id),
            ("enabled", enabled.as_str()),
        ];
        ok(call(&self.c, &self.s, "directory/set_user_enabled", &form).await).await;
    }

    pub async fn on_demand(&self, user: &str) -> Value {
        ok(call(
            &self.c,
            &self.s,
            "provisioning/on_demand",
            &[("csrf", &self.t), ("app", &self.app), ("user", user)],
        )
        .await)
        .await
    }

    /// The target's users, straight from its SCIM endpoint.
    pub async fn target_user(&self, user_name: &str) -> Option<Value> {
        let r = reqwest::Client::new()
            .get(format!("{}/Users", self.target.url))
            .query(&[("filter", format!("userName eq \"{user_name}\""))])
            .bearer_auth(&self.target.key)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["Resources"].as_array().unwrap().first().cloned()
    }

    /// Calls a server function that must succeed.
    pub async fn post(&self, endpoint: &str, fields: &[(&str, &str)]) -> Value {
        let mut form = vec![("csrf", self.t.as_str())];
        form.extend_from_slice(fields);
        ok(call(&self.c, &self.s, endpoint, &form).await).await
    }

    /// Adds a scoping filter to the users mapping: department EQUALS "Sales".
    #[allow(dead_code)]
    pub async fn sales_only(&self) {
        self.post(
            "provisioning/scoping/add",
            &[
                ("app", &self.app),
                ("object", "user"),
                ("filter", "new"),
                ("title", "Sales"),
                ("attribute", "department"),
                ("operator", "EQUALS"),
                ("value", "Sales"),
            ],
        )
        .await;
    }

    pub async fn group(&self, name: &str) -> String {
        self.post("directory/create_group", &[("name", name)])
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn add_member(&self, group: &str, member: &str) {
        self.post("directory/add_member", &[("group", group), ("member", member)])
            .await;
    }

    pub async fn remove_member(&self, group: &str, member: &str) {
        self.post("directory/remove_member", &[("group", group), ("member", member)])
            .await;
    }

    /// The id of the assignment of `principal` (display name or userPrincipalName).
    pub async fn assignment(&self, principal: &str) -> String {
        let v = ok(call(&self.c, &self.s, "apps/assignments", &[("app", &self.app)]).await).await;
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["principal"]["name"] == principal || r["principal"]["detail"] == principal)
            .unwrap_or_else(|| panic!("no assignment of {principal} in {v}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn unassign(&self, principal: &str) {
        let id = self.assignment(principal).await;
        self.post("apps/unassign", &[("app", &self.app), ("assignment", &id)])
            .await;
    }

    pub async fn status(&self) -> Value {
        ok(call(&self.c, &self.s, "provisioning/status", &[("app", &self.app)]).await).await
    }

    /// Turns provisioning On and waits for the cycle after `previous` to complete, then Off
    /// again; returns the cycle's id.
    #[allow(dead_code)]
    pub async fn next_cycle(&self, previous: Option<String>) -> String {
        let key = self.target.key.clone();
        self.configure_with(&key, "on", "500").await;
        let id = eventually(30, "a cycle completes", || async {
            let s = self.status().await;
            let last = s["last_completed"]["id"].as_str().map(str::to_string);
            match last {
                Some(id) if Some(&id) != previous.as_ref() => Ok(id),
                _ => Err(s.to_string()),
            }
        })
        .await;
        self.configure_with(&key, "off", "500").await;
        eventually(10, "paused", || async {
            let s = self.status().await;
            (s["state"] == "Paused").then_some(()).ok_or(s.to_string())
        })
        .await;
        id
    }

    /// Every resource of `kind` ("Users" or "Groups") in the target.
    pub async fn target_all(&self, kind: &str) -> Vec<Value> {
        let r = reqwest::Client::new()
            .get(format!("{}/{kind}", self.target.url))
            .query(&[("count", "1000")])
            .bearer_auth(&self.target.key)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["Resources"].as_array().cloned().unwrap_or_default()
    }
}

/// Polls `check` until it returns `Some`, for at most `secs` seconds; the panic message carries
/// the last state seen.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if std::time::Instant::now() > deadline => {
                panic!("{what}: not reached in {secs} s; last: {last}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}
