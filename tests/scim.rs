//! The SCIM endpoint over real HTTP, one test per behaviour of real clients (scim-interop.md):
//! each sends exactly what Entra or Okta sends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cli, create_key, tenant, Server, Tenant};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Api {
    c: Client,
    url: String,
    key: String,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Api {
    fn new(t: &Tenant) -> Api {
        Api {
            c: Client::new(),
            url: t.url.clone(),
            key: t.key.clone(),
        }
    }

    async fn raw(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .c
            .request(method, format!("{}{path}", self.url))
            .header(AUTHORIZATION, format!("Bearer {}", self.key));
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/scim+json")
                .body(b.to_string());
        }
        self.raw(req).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    async fn patch(&self, path: &str, ops: Value) -> Resp {
        self.send(
            Method::PATCH,
            path,
            Some(json!({"schemas": [PATCH], "Operations": ops})),
        )
        .await
    }
    async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    async fn create_user(&self, user_name: &str) -> String {
        let r = self
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": user_name, "active": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn create_group(&self, name: &str) -> String {
        let r = self
            .post("/Groups", json!({"schemas": [GROUP], "displayName": name}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn filter(&self, resource: &str, filter: &str) -> Value {
        let r = self.send_query(resource, &[("filter", filter)]).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
        r.body
    }

    async fn send_query(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        let req = self
            .c
            .get(format!("{}{path}", self.url))
            .query(query)
            .header(AUTHORIZATION, format!("Bearer {}", self.key));
        self.raw(req).await
    }
}

fn scim_error(r: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["schemas"], json!([ERROR]), "{}", r.body);
    assert_eq!(r.body["status"], json!(status.to_string()));
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{}", r.body);
    }
    assert_eq!(r.headers[CONTENT_TYPE], "application/scim+json");
}

fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn setup() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    (dir, s)
}

#[tokio::test]
async fn authentication_and_tenant_isolation() {
    let (_d, s) = setup();
    let a = tenant(&s, "Acme");
    let b = tenant(&s, "Globex");
    let api = Api::new(&a);

    // No header, a bad key: 401 with a SCIM body and WWW-Authenticate.
    let r = api.raw(api.c.get(format!("{}/Users", a.url))).await;
    scim_error(&r, 401, None);
    assert!(r.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let r = api
        .raw(
            api.c
                .get(format!("{}/Users", a.url))
                .header(AUTHORIZATION, "Bearer pvs_nope"),
        )
        .await;
    scim_error(&r, 401, None);
    assert!(r.headers.contains_key("www-authenticate"));
    let r = api
        .raw(
            api.c
                .get(format!("{}/Users", a.url))
                .header(AUTHORIZATION, format!("Basic {}", a.key)),
        )
        .await;
    scim_error(&r, 401, None);

    // A's key on B's URL: 404, and B's data stays invisible.
    Api::new(&b).create_user("bob@globex.com").await;
    let wrong = Api {
        c: Client::new(),
        url: b.url.clone(),
        key: a.key.clone(),
    };
    scim_error(&wrong.get("/Users").await, 404, None);
    assert_eq!(
        api.filter("/Users", r#"userName eq "bob@globex.com""#).await["totalResults"],
        0
    );
    // Unknown account with a bad key: 401, so account ids cannot be probed.
    let ghost = Api {
        c: Client::new(),
        url: a.url.replace(&a.account, "AAAAAAAAAAAAAAAAAAAAAA"),
        key: "x".into(),
    };
    scim_error(&ghost.get("/Users").await, 401, None);

    // Revoked keys stop working at once.
    let extra = create_key(&s, &a.account, "temp", "Account Administrators");
    let prefix = &extra[..12];
    let temp = Api {
        c: Client::new(),
        url: a.url.clone(),
        key: extra.clone(),
    };
    assert_eq!(temp.get("/Users").await.status, StatusCode::OK);
    cli(&s, &["api-key", "revoke", "--account", &a.account, prefix]);
    let r = temp.get("/Users").await;
    scim_error(&r, 401, None);
    assert!(r.body["detail"].as_str().unwrap().contains("revoked"));

    // The key never appears in the server's output.
    assert!(!s.output_text().contains(&a.key));
    // The newer Harness path serves the same endpoint.
    let ng = Api {
        c: Client::new(),
        url: a.url.replace("/gateway/api/", "/gateway/ng/api/"),
        key: a.key.clone(),
    };
    assert_eq!(ng.get("/ServiceProviderConfig").await.status, StatusCode::OK);
}

#[tokio::test]
async fn entra_test_connection_and_lookups() {
    let (_d, s) = setup();
    let t = tenant(&s, "Acme");
    // The tenant URL as pasted into Entra, with the feature flag; no User-Agent is sent.
    let api = Api {
        c: Client::new(),
        url: t.url.clone(),
        key: t.key.clone(),
    };
    let r = api
        .raw(
            api.c
                .get(format!(
                    "{}/Users?aadOptscim062020&filter=userName+eq+%22{}%22",
                    t.url,
                    uuid::Uuid::now_v7()
                ))
                .header(AUTHORIZATION, format!("Bearer {}", t.key)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CONTENT_TYPE], "application/scim+json");
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    assert_eq!(r.body["startIndex"], 1);

    // Entra's create, as documented (string boolean, enterprise extension, typo URN, nulls).
    let r = api
        .post(
            "/Users",
            json!({
                "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
                "externalId": "jyoung",
                "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com",
                "active": "True",
                "addresses": null,
                "displayName": "Jay Young",
                "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                "roles": [],
                ENT: {"employeeNumber": "701984", "department": "Sales", "manager": {"value": "m-1"}},
                "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute": "Custom value",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("{}/Users/{id}", t.url));
    assert_eq!(r.body["meta"]["location"], format!("{}/Users/{id}", t.url));
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body[ENT]["department"], "Sales");
    assert_eq!(
        r.body["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"]["CustomAttribute"],
        "Custom value"
    );
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(ENT)));
    assert!(r.body.get("addresses").is_none());

    // Lookups Entra makes: userName in another case, unquoted externalId, the work email, manager.
    let one = |v: &Value| ids(v) == vec![id.clone()];
    assert!(one(&api
        .filter(
            "/Users",
            "userName eq \"test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1@CONTOSO.com\""
        )
        .await));
    assert!(one(&api.filter("/Users", "externalId eq jyoung").await));
    assert!(
        api.filter("/Users", "externalId eq JYOUNG").await["totalResults"] == 0,
        "externalId is caseExact"
    );
    assert!(one(&api
        .filter(
            "/Users",
            r#"emails[type eq "work"].value eq "test_user_fd0ea19b@contoso.com""#
        )
        .await));
    assert!(one(&api
        .filter(
            "/Users",
            &format!(r#"id eq "{id}" and {ENT}:manager.value eq "m-1""#)
        )
        .await));
    assert!(one(&api.filter("/Users", r#"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute eq "custom VALUE""#).await));
}

#[tokio::test]
async fn entra_user_patches() {
    let (_d, s) = setup();
    let api = Api::new(&tenant(&s, "Acme"));
    let id = api.create_user("alice@contoso.com").await;
    let path = format!("/Users/{id}");

    // Capitalised ops and string booleans; disabled users are still returned.
    let r = api
        .patch(
            &path,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(api.get(&path).await.body["active"], false);
    assert_eq!(api.filter("/Users", "active eq false").await["totalResults"], 1);

    // Path-less replace with dotted and URN-qualified keys.
    let r = api
        .patch(
            &path,
            json!([{"op": "replace", "value": {
                "displayName": "Alice A",
                "name.givenName": "Alice",
                "name.familyName": "Andersen",
                format!("{ENT}:employeeNumber"): "7",
                format!("{ENT}:manager"): {"value": "boss"},
            }}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Alice A");
    assert_eq!(
        r.body["name"],
        json!({"givenName": "Alice", "familyName": "Andersen"})
    );
    assert_eq!(r.body[ENT]["employeeNumber"], "7");
    assert_eq!(r.body[ENT]["manager"]["value"], "boss");

    // Filtered replace when there is no work email yet: it adds one.
    let r = api
        .patch(&path, json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice@contoso.com"}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["emails"],
        json!([{"type": "work", "value": "alice@contoso.com"}])
    );
    assert_eq!(
        ids(&api
            .filter("/Users", r#"emails.value eq "ALICE@contoso.com""#)
            .await),
        vec![id.clone()]
    );
    let r = api
        .patch(
            &path,
            json!([{"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"}]),
        )
        .await;
    assert_eq!(r.body["emails"][0]["primary"], true);

    // Roles as JSON-encoded strings.
    let role = r#"{"id":"7b3b9a1e-0ea4-4bbd-a4a3-95b4f53b6c2d","value":"25","displayName":"Role1234"}"#;
    let r = api
        .patch(
            &path,
            json!([{"op": "Add", "path": "roles", "value": [{"value": role}]}]),
        )
        .await;
    assert_eq!(r.body["roles"][0]["value"], role);

    // Custom extension attribute by path; removing the manager.
    let custom = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User";
    let r = api
        .patch(
            &path,
            json!([{"op": "Add", "path": format!("{custom}:costCenter"), "value": "CC-9"}]),
        )
        .await;
    assert_eq!(r.body[custom]["costCenter"], "CC-9");
    let r = api
        .patch(&path, json!([{"op": "Remove", "path": format!("{ENT}:manager")}]))
        .await;
    assert!(r.body[ENT].get("manager").is_none());

    // Re-sending what is already there does not bump the version.
    let before = api.get(&path).await.body["meta"]["version"].clone();
    let r = api
        .patch(
            &path,
            json!([{"op": "Replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(r.body["meta"]["version"], before);

    // groups is read-only; an unknown path and a bad value are refused and change nothing.
    scim_error(
        &api.patch(
            &path,
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
        )
        .await,
        400,
        Some("mutability"),
    );
    scim_error(
        &api.patch(&path, json!([{"op": "replace", "path": "nosuch", "value": 1}]))
            .await,
        400,
        Some("invalidPath"),
    );
    scim_error(
        &api.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "changed"}, {"op": "replace", "path": "active", "value": "maybe"}])).await,
        400,
        Some("invalidValue"),
    );
    assert_eq!(api.get(&path).await.body["displayName"], "Alice A");
    scim_error(
        &api.patch(
            &path,
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
        )
        .await,
        400,
        Some("invalidPath"),
    );
}

#[tokio::test]
async fn entra_groups_and_memberships() {
    let (_d, s) = setup();
    let api = Api::new(&tenant(&s, "Acme"));
    let users: Vec<String> = futures_join(&api, &["u1@x.com", "u2@x.com", "u3@x.com", "u4@x.com"]).await;

    // Creation with Entra's own schema URN; lookup by displayName without members.
    let r = api
        .post(
            "/Groups",
            json!({
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Group1DisplayName",
                "meta": {"resourceType": "Group"},
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let gpath = format!("/Groups/{gid}");
    let found = api
        .send_query(
            "/Groups",
            &[
                ("excludedAttributes", "members"),
                ("filter", "displayName eq \"Group1DisplayName\""),
            ],
        )
        .await;
    assert_eq!(ids(&found.body), vec![gid.clone()]);

    // Adding many members at once, $ref null; adding an existing one again is fine. 204.
    let add: Vec<Value> = users.iter().map(|u| json!({"$ref": null, "value": u})).collect();
    let r = api
        .patch(&gpath, json!([{"op": "Add", "path": "members", "value": add}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = api
        .patch(
            &gpath,
            json!([{"op": "Add", "path": "members", "value": [{"value": users[0]}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&gpath).await.body["members"].as_array().unwrap().len(), 4);

    // Entra's removal with a value array removes only those members.
    let r = api
        .patch(
            &gpath,
            json!([{"op": "Remove", "path": "members", "value": [{"value": users[1]}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let members = api.get(&gpath).await.body["members"].clone();
    let left: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 3);
    assert!(!left.contains(&users[1].as_str()));
    // The compliant filter form too.
    api.patch(
        &gpath,
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])}]),
    )
    .await;
    assert_eq!(api.get(&gpath).await.body["members"].as_array().unwrap().len(), 2);

    // The member's side: groups is computed; membership lookups by member.
    let u0 = api.get(&format!("/Users/{}", users[0])).await.body;
    assert_eq!(u0["groups"][0]["value"], gid);
    assert_eq!(u0["groups"][0]["display"], "Group1DisplayName");
    assert_eq!(
        ids(&api
            .filter("/Groups", &format!("members[value eq \"{}\"]", users[0]))
            .await),
        vec![gid.clone()]
    );
    assert_eq!(
        ids(&api.filter("/Users", &format!("groups.value eq \"{gid}\"")).await).len(),
        2
    );

    // Members that do not exist are refused; deleting a user removes its memberships.
    scim_error(
        &api.patch(
            &gpath,
            json!([{"op": "Add", "path": "members", "value": [{"value": "nobody"}]}]),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    assert_eq!(
        api.delete(&format!("/Users/{}", users[0])).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.get(&gpath).await.body["members"].as_array().unwrap().len(), 1);
    // Asking for attributes makes PATCH answer 200 with the group.
    let r = api
        .send(Method::PATCH, &format!("{gpath}?attributes=displayName"), Some(json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "displayName", "value": "Renamed"}]})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["displayName"], "Renamed");
    assert!(r.body.get("members").is_none());
}

/// A group's members as (id, type, display), in id order.
fn member_list(g: &Value) -> Vec<(String, String, Value)> {
    let mut m: Vec<_> = g["members"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            (
                m["value"].as_str().unwrap().to_string(),
                m["type"].as_str().unwrap().to_string(),
                m["display"].clone(),
            )
        })
        .collect();
    m.sort_by(|a, b| a.0.cmp(&b.0));
    m
}

/// Membership changes (the requests identity providers send for groups) change only the
/// members they name: the ETag moves only when something changed, a display sent with a member
/// already there replaces its display and one sent without keeps it, nested groups are typed
/// Group, and a request with one bad operation changes nothing.
#[tokio::test]
async fn membership_changes_touch_only_their_members() {
    let (_d, s) = setup();
    let api = Api::new(&tenant(&s, "Acme"));
    let users = futures_join(&api, &["m1@x.com", "m2@x.com", "m3@x.com"]).await;
    let gid = api.create_group("Team").await;
    let sub = api.create_group("Sub-team").await;
    let gpath = format!("/Groups/{gid}");
    let etag = |r: &Resp| r.headers["etag"].to_str().unwrap().to_string();

    let r = api
        .patch(
            &gpath,
            json!([{"op": "add", "path": "members", "value": [
                {"value": users[0], "display": "first"}, {"value": users[1]}, {"value": sub}
            ]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let v1 = etag(&r);
    let mut want = vec![
        (users[0].clone(), "User".to_string(), json!("first")),
        (users[1].clone(), "User".to_string(), Value::Null),
        (sub.clone(), "Group".to_string(), Value::Null),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(member_list(&api.get(&gpath).await.body), want);

    // Nothing to change: the same ETag. Removing a member that is not there is no change either.
    let r = api
        .patch(
            &gpath,
            json!([
                {"op": "add", "path": "members", "value": [{"value": users[0]}]},
                {"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])},
            ]),
        )
        .await;
    assert_eq!((r.status, etag(&r)), (StatusCode::NO_CONTENT, v1.clone()));
    assert_eq!(member_list(&api.get(&gpath).await.body), want);

    // A new display for a member already there is a change.
    let r = api
        .patch(
            &gpath,
            json!([{"op": "add", "path": "members", "value": [{"value": users[1], "display": "second"}]}]),
        )
        .await;
    assert_ne!(etag(&r), v1);
    for m in want.iter_mut().filter(|m| m.0 == users[1]) {
        m.2 = json!("second");
    }
    let now = api.get(&gpath).await;
    assert_eq!(member_list(&now.body), want);
    assert_eq!(
        etag(&now),
        etag(&r),
        "the 204 names the version a read then shows"
    );

    // One bad operation (the group as its own member) refuses the request, valid ones included.
    let before = api.get(&gpath).await;
    scim_error(
        &api.patch(
            &gpath,
            json!([
                {"op": "remove", "path": "members", "value": [{"value": users[0]}]},
                {"op": "add", "path": "members", "value": [{"value": users[2]}, {"value": gid}]},
            ]),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    let after = api.get(&gpath).await;
    assert_eq!(member_list(&after.body), want);
    assert_eq!(etag(&after), etag(&before));

    // Mixed with a rename (the general path): both apply.
    let r = api
        .patch(
            &gpath,
            json!([
                {"op": "replace", "path": "displayName", "value": "Team A"},
                {"op": "remove", "path": format!("members[value eq \"{sub}\"]")},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let read = api.get(&gpath).await;
    assert_eq!(etag(&read), etag(&r));
    let g = read.body;
    assert_eq!(g["displayName"], "Team A");
    want.retain(|m| m.0 != sub);
    assert_eq!(member_list(&g), want);
}

/// A small deterministic generator for the differential test below (same sequence every run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The membership fast path against the general one: random membership requests go to two
/// groups with the same members, to one as they are (applied to the member rows) and to the
/// other with a rename added (which sends the request through the general PATCH path). Both
/// must answer alike and end with the same members, types and displays.
#[tokio::test]
async fn membership_changes_match_the_general_patch_path() {
    let (_d, s) = setup();
    let api = Api::new(&tenant(&s, "Acme"));
    let users = futures_join(
        &api,
        &["d1@x.com", "d2@x.com", "d3@x.com", "d4@x.com", "d5@x.com"],
    )
    .await;
    let nested = api.create_group("Nested").await;
    let fast = api.create_group("Fast").await;
    let general = api.create_group("General").await;
    let mut rng = Lcg(0x5eed_1234_abcd);
    // What a request names: mostly users, sometimes a group, a member that does not exist, or
    // the group itself.
    let who = |choice: u64, own: &str| -> String {
        match choice {
            0 => "nobody".to_string(),
            1 => own.to_string(),
            2 | 3 => nested.clone(),
            n => users[(n % 5) as usize].clone(),
        }
    };
    let mut succeeded = 0;
    for round in 0..60 {
        let mut ops = (Vec::new(), Vec::new());
        for _ in 0..1 + rng.below(3) {
            let kind = rng.below(3);
            let mut values = (Vec::new(), Vec::new());
            for _ in 0..1 + rng.below(3) {
                let choice = rng.below(20);
                let item = |id: String, display: u64| match display {
                    0 => json!({"value": id}),
                    1 => json!({"value": id, "display": "one"}),
                    _ => json!({"value": id, "display": "two"}),
                };
                let display = rng.below(3);
                values.0.push(item(who(choice, &fast), display));
                values.1.push(item(who(choice, &general), display));
            }
            let op = |values: Vec<Value>| match kind {
                0 => json!({"op": "add", "path": "members", "value": values}),
                1 => json!({"op": "remove", "path": "members", "value": values}),
                _ => {
                    json!({"op": "remove", "path": format!("members[value eq \"{}\"]", values[0]["value"].as_str().unwrap())})
                }
            };
            ops.0.push(op(values.0));
            ops.1.push(op(values.1));
        }
        ops.1
            .push(json!({"op": "replace", "path": "displayName", "value": format!("General {round}")}));
        let a = api.patch(&format!("/Groups/{fast}"), json!(ops.0)).await;
        let b = api.patch(&format!("/Groups/{general}"), json!(ops.1)).await;
        assert_eq!(
            a.status, b.status,
            "round {round}: {:?}\n{}\n{}",
            ops.0, a.body, b.body
        );
        let ma = member_list(&api.get(&format!("/Groups/{fast}")).await.body);
        let mb = member_list(&api.get(&format!("/Groups/{general}")).await.body);
        assert_eq!(ma, mb, "round {round}: {:?}", ops.0);
        if a.status == StatusCode::NO_CONTENT {
            succeeded += 1;
        }
    }
    // The sequence exercises both outcomes.
    assert!(
        (10..60).contains(&succeeded),
        "{succeeded} of 60 requests succeeded"
    );
}

async fn futures_join(api: &Api, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        out.push(api.create_user(n).await);
    }
    out
}

#[tokio::test]
async fn okta_sequences() {
    let (_d, s) = setup();
    let t = tenant(&s, "Acme");
    let api = Api::new(&t);
    // Test connection and the existence check.
    let r = api
        .send_query("/Users", &[("startIndex", "1"), ("count", "2")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api
        .send_query(
            "/Users",
            &[
                ("filter", "userName eq \"isabell.provisioning@example.com\""),
                ("startIndex", "1"),
                ("count", "100"),
            ],
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);

    // Create with a password and groups: []; the password is never returned. Okta's examples
    // send text/json.
    let user = json!({
        "schemas": [USER],
        "userName": "isabell.provisioning@example.com",
        "name": {"givenName": "Isabell", "familyName": "Provisioning"},
        "emails": [{"primary": true, "value": "isabell.provisioning@example.com", "type": "work"}],
        "displayName": "Isabell Provisioning",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    });
    let r = api
        .raw(
            api.c
                .post(format!("{}/Users", t.url))
                .header(AUTHORIZATION, format!("Bearer {}", t.key))
                .header(CONTENT_TYPE, "text/json")
                .body(user.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.get("password").is_none());
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    assert!(api.get(&path).await.body.get("password").is_none());
    assert!(api
        .send_query(&path, &[("attributes", "password")])
        .await
        .body
        .get("password")
        .is_none());

    // A duplicate userName, in any case: 409 uniqueness.
    let mut dup = user.clone();
    dup["userName"] = json!("ISABELL.provisioning@example.com");
    scim_error(&api.post("/Users", dup).await, 409, Some("uniqueness"));

    // Profile updates are PUT after a GET.
    let mut current = api.get(&path).await.body;
    current["name"]["familyName"] = json!("Provisioned");
    current["password"] = json!("newpassword");
    let r = api.put(&path, current).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["familyName"], "Provisioned");
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    // Deactivation is a path-less PATCH.
    let r = api
        .patch(&path, json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    assert_eq!(r.body["active"], false);

    // Group push: create empty, rename path-less with the id, mixed membership operations, unlink.
    let other = api.create_user("other@example.com").await;
    let r = api
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Test Group", "members": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let gpath = format!("/Groups/{gid}");
    let r = api
        .patch(
            &gpath,
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Test Group Renamed"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    api.patch(&gpath, json!([{"op": "add", "path": "members", "value": [{"value": other, "display": "other@example.com"}]}])).await;
    let r = api
        .patch(
            &gpath,
            json!([
                {"op": "remove", "path": format!("members[value eq \"{other}\"]")},
                {"op": "add", "path": "members", "value": [{"value": id, "display": "isabell.provisioning@example.com"}]},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let g = api.get(&gpath).await.body;
    assert_eq!(g["displayName"], "Test Group Renamed");
    assert_eq!(
        g["members"],
        json!([{"value": id, "$ref": format!("{}/Users/{id}", t.url), "type": "User", "display": "isabell.provisioning@example.com"}])
    );
    assert_eq!(api.delete(&gpath).await.status, StatusCode::NO_CONTENT);
    scim_error(&api.get(&gpath).await, 404, None);
    // Okta never deletes users; they stay readable.
    assert_eq!(api.get(&path).await.status, StatusCode::OK);
}

#[tokio::test]
async fn listing_paging_sorting_and_projection() {
    let (_d, s) = setup();
    let api = Api::new(&tenant(&s, "Acme"));
    let mut created = Vec::new();
    for i in 0..25 {
        let r = api
            .post("/Users", json!({"userName": format!("user{:02}@x.com", 24 - i), "displayName": format!("User {i}"), "title": if i % 2 == 0 { "even" } else { "odd" }}))
            .await;
        created.push(r.body["id"].as_str().unwrap().to_string());
    }
    // Pages in a stable order covering everything exactly once; integers in the envelope.
    let mut seen = Vec::new();
    for start in [1, 11, 21] {
        let r = api
            .send_query("/Users", &[("startIndex", &start.to_string()), ("count", "10")])
            .await;
        assert_eq!(r.body["totalResults"], 25);
        assert_eq!(r.body["startIndex"], start);
        assert!(r.body["itemsPerPage"].is_u64());
        seen.extend(ids(&r.body));
    }
    assert_eq!(seen, created);
    let r = api.send_query("/Users", &[("count", "0")]).await;
    assert_eq!(r.body["totalResults"], 25);
    assert_eq!(r.body["Resources"], json!([]));
    // A filter finished in Rust pages the same way.
    let r = api
        .send_query(
            "/Users",
            &[
                ("filter", "title eq \"odd\""),
                ("startIndex", "3"),
                ("count", "5"),
            ],
        )
        .await;
    assert_eq!(r.body["totalResults"], 12);
    assert_eq!(
        ids(&r.body),
        created
            .iter()
            .skip(1)
            .step_by(2)
            .skip(2)
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
    );

    // sortBy on an indexed column and on one that is not.
    let r = api
        .send_query("/Users", &[("sortBy", "userName"), ("count", "3")])
        .await;
    let names: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user00@x.com", "user01@x.com", "user02@x.com"]);
    let r = api
        .send_query(
            "/Users",
            &[("sortBy", "title"), ("sortOrder", "descending"), ("count", "13")],
        )
        .await;
    let titles: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, [vec!["odd"; 12], vec!["even"]].concat());

    // attributes narrows but keeps id, schemas and meta; excludedAttributes removes.
    let r = api
        .send_query("/Users", &[("attributes", "userName"), ("count", "1")])
        .await;
    let u = &r.body["Resources"][0];
    let mut keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "meta", "schemas", "userName"]);
    let r = api
        .send_query(
            "/Users",
            &[("excludedAttributes", "displayName,title"), ("count", "1")],
        )
        .await;
    assert!(
        r.body["Resources"][0].get("displayName").is_none()
            && r.body["Resources"][0].get("userName").is_some()
    );

    // POST .search per resource and at the root.
    let r = api
        .post("/Users/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"user0\"", "attributes": ["userName"], "count": 3}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 10);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 3);
    api.create_group("user group").await;
    let r = api
        .post(
            "/.search",
            json!({"filter": "displayName co \"user\"", "count": 100}),
        )
        .await;
    assert_eq!(r.body["totalResults"], 26);

    // Invalid requests.
    scim_error(
        &api.send_query("/Users", &[("filter", "userName eq")]).await,
        400,
        Some("invalidFilter"),
    );
    scim_error(
        &api.send_query("/Users", &[("filter", &"(".repeat(40))]).await,
        400,
        Some("tooMany"),
    );
    let long = format!("userName eq \"{}\"", "a".repeat(10_001));
    scim_error(
        &api.post("/Users/.search", json!({"filter": long})).await,
        400,
        Some("tooMany"),
    );
    scim_error(
        &api.send_query("/Users", &[("startIndex", "x")]).await,
        400,
        Some("invalidValue"),
    );
    scim_error(
        &api.send_query("/Users", &[("sortOrder", "sideways")]).await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn etags_errors_and_limits() {
    let (_d, s) = setup();
    let t = tenant(&s, "Acme");
    let api = Api::new(&t);
    let id = api.create_user("e@x.com").await;
    let path = format!("/Users/{id}");
    let r = api.get(&path).await;
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(r.body["meta"]["version"], etag);
    assert!(etag.starts_with("W/\""));

    let with = |m: Method, h: &str, v: &str| {
        api.c
            .request(m, format!("{}{path}", t.url))
            .header(AUTHORIZATION, format!("Bearer {}", t.key))
            .header(h, v)
    };
    assert_eq!(
        api.raw(with(Method::GET, "If-None-Match", &etag)).await.status,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        api.raw(with(Method::GET, "If-None-Match", "W/\"999\""))
            .await
            .status,
        StatusCode::OK
    );
    let stale = with(Method::PUT, "If-Match", "W/\"999\"")
        .header(CONTENT_TYPE, "application/json")
        .body(json!({"userName": "e2@x.com"}).to_string());
    scim_error(&api.raw(stale).await, 412, None);
    let fresh = with(Method::PUT, "If-Match", &etag)
        .header(CONTENT_TYPE, "application/json")
        .body(json!({"userName": "e2@x.com"}).to_string());
    let r = api.raw(fresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(r.headers["etag"].to_str().unwrap(), etag);
    scim_error(&api.raw(with(Method::DELETE, "If-Match", &etag)).await, 412, None);

    // Uniqueness through PUT and PATCH too.
    api.create_user("taken@x.com").await;
    scim_error(
        &api.put(&path, json!({"userName": "TAKEN@x.com"})).await,
        409,
        Some("uniqueness"),
    );
    scim_error(
        &api.patch(
            &path,
            json!([{"op": "replace", "path": "userName", "value": "taken@X.com"}]),
        )
        .await,
        409,
        Some("uniqueness"),
    );

    // Errors in SCIM form everywhere.
    scim_error(&api.get("/Users/does-not-exist").await, 404, None);
    scim_error(&api.get("/Nope").await, 404, None);
    scim_error(&api.post("/ServiceProviderConfig", json!({})).await, 405, None);
    scim_error(&api.delete("/Schemas").await, 405, None);
    scim_error(
        &api.post("/Users", json!({"displayName": "no userName"})).await,
        400,
        Some("invalidValue"),
    );
    let r = api
        .raw(
            api.c
                .post(format!("{}/Users", t.url))
                .header(AUTHORIZATION, format!("Bearer {}", t.key))
                .body("{not json"),
        )
        .await;
    scim_error(&r, 400, Some("invalidSyntax"));
    let big = json!({"userName": "big@x.com", "displayName": "x".repeat(1_100_000)});
    scim_error(&api.post("/Users", big).await, 413, None);
    scim_error(
        &api.patch(&path, json!([{"op": "remove"}])).await,
        400,
        Some("noTarget"),
    );

    // Discovery describes what is supported.
    let spc = api.get("/ServiceProviderConfig").await.body;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["maxOperations"], 1000);
    assert_eq!(spc["etag"]["supported"], true);
    let schemas = api.get("/Schemas").await.body;
    assert_eq!(schemas["totalResults"], 3);
    assert_eq!(
        api.get(&format!("/Schemas/{ENT}")).await.body["name"],
        "EnterpriseUser"
    );
    assert_eq!(
        api.get("/ResourceTypes/User").await.body["schemaExtensions"][0]["schema"],
        ENT
    );
    scim_error(&api.get("/ResourceTypes/Device").await, 404, None);
}

#[tokio::test]
async fn bulk_with_references_and_fail_on_errors() {
    let (_d, s) = setup();
    let api = Api::new(&tenant(&s, "Acme"));
    // The group refers to a user created later in the same request.
    let r = api
        .post(
            "/Bulk",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"type": "User", "value": "bulkId:u1"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER], "userName": "alice@bulk.com"}},
                    {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"schemas": [USER], "userName": "alice@bulk.com"}},
                    {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
                ]
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let by = |b: &str| ops.iter().find(|o| o["bulkId"] == b).unwrap().clone();
    assert_eq!(by("u1")["status"], "201");
    assert_eq!(by("g1")["status"], "201");
    assert_eq!(by("u2")["status"], "409");
    assert_eq!(by("u2")["response"]["scimType"], "uniqueness");
    let gid = by("g1")["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let uid = by("u1")["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        api.get(&format!("/Groups/{gid}")).await.body["members"][0]["value"],
        uid
    );
    assert_eq!(api.get(&format!("/Users/{uid}")).await.body["active"], false);

    // failOnErrors stops after that many errors.
    let r = api
        .post(
            "/Bulk",
            json!({"failOnErrors": 1, "Operations": [
                {"method": "DELETE", "path": "/Users/nope"},
                {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "never@bulk.com"}},
            ]}),
        )
        .await;
    assert_eq!(r.body["Operations"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["Operations"][0]["status"], "404");
    assert_eq!(
        api.filter("/Users", "userName eq \"never@bulk.com\"").await["totalResults"],
        0
    );
    // Too many operations: 413.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    scim_error(&api.post("/Bulk", json!({"Operations": many})).await, 413, None);
}

#[tokio::test]
async fn concurrent_creates_commit_together_and_duplicates_fail_alone() {
    let (_d, s) = setup();
    let api = std::sync::Arc::new(Api::new(&tenant(&s, "Acme")));
    let mut tasks = Vec::new();
    for i in 0..60 {
        let api = api.clone();
        // Every third request reuses one userName (in varying case).
        let name = match (i % 3, i % 2) {
            (0, 0) => "same@x.com".to_string(),
            (0, _) => "SAME@X.com".to_string(),
            _ => format!("user{i}@x.com"),
        };
        tasks.push(tokio::spawn(async move {
            api.post("/Users", json!({"userName": name})).await.status
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflicts), (41, 19));
    assert_eq!(api.get("/Users?count=0").await.body["totalResults"], 41);
    assert_eq!(
        api.filter("/Users", "userName eq \"same@x.com\"").await["totalResults"],
        1
    );
}
