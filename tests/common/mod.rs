//! Runs the real `provisio` binary on a random port with a temporary data directory, and talks to
//! it over HTTP like a browser or script would.
#![allow(dead_code)]

pub mod apps;
pub mod field;
pub mod peers;
pub mod quirky;
pub mod smtp;

use reqwest::header::{ACCEPT, REFERER};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub const ADMIN_PASSWORD: &str = "first admin password";

pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Everything the server printed, for checks that secrets never appear.
    pub output: Arc<Mutex<Vec<String>>>,
    /// The threads reading its stdout and stderr; they end when the process does.
    readers: Vec<std::thread::JoinHandle<()>>,
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provisio"))
}

/// The PostgreSQL server the tests run against, when `PROVISIO_TEST_BACKEND=postgres`: the URL
/// of a role that may create databases (`PROVISIO_TEST_POSTGRES_URL`). Otherwise every test runs
/// on SQLite files in its data directory, the default.
pub fn postgres() -> Option<String> {
    if std::env::var("PROVISIO_TEST_BACKEND").ok()? != "postgres" {
        return None;
    }
    Some(
        std::env::var("PROVISIO_TEST_POSTGRES_URL")
            .expect("PROVISIO_TEST_BACKEND=postgres needs PROVISIO_TEST_POSTGRES_URL"),
    )
}

/// The database URL for a data directory on PostgreSQL: one database per data directory, created
/// the first time, so a server restarted on the same directory (and the command line run against
/// it) finds its data as with SQLite. None on SQLite.
pub fn database_url(data_dir: &Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let admin = postgres()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    let name = format!("provisio_t_{:016x}", h.finish());
    static CREATED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut created = CREATED.lock().unwrap();
    if !created.contains(&name) {
        let out = Command::new("psql")
            .arg(&admin)
            .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
            .output()
            .expect("run psql");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("already exists"),
            "create database {name}: {err}"
        );
        created.push(name.clone());
    }
    let mut url = reqwest::Url::parse(&admin).expect("PROVISIO_TEST_POSTGRES_URL");
    url.set_path(&name);
    Some(url.to_string())
}

/// The environment that points a `provisio` process at a data directory's database:
/// `PROVISIO_DATABASE_URL` on PostgreSQL, nothing (the SQLite default) otherwise.
pub fn db_env(data_dir: impl AsRef<Path>) -> Vec<(&'static str, String)> {
    database_url(data_dir.as_ref())
        .map(|u| vec![("PROVISIO_DATABASE_URL", u)])
        .unwrap_or_default()
}

/// Everything stored for a data directory as text (the SQLite files, or a dump of the PostgreSQL
/// database), to prove a secret never reaches the database in the clear.
pub fn database_text(data_dir: &Path) -> String {
    if let Some(url) = database_url(data_dir) {
        let out = Command::new("pg_dump")
            .args(["--data-only", &url])
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return String::from_utf8_lossy(&out.stdout).to_string();
    }
    let mut all = Vec::new();
    for name in ["provisio.db", "provisio.db-wal"] {
        if let Ok(bytes) = std::fs::read(data_dir.join(name)) {
            all.extend(bytes);
        }
    }
    String::from_utf8_lossy(&all).to_string()
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with_env(data_dir, &[])
    }

    /// [`Server::start`] with extra environment settings (e.g. a short outbound timeout).
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_on(data_dir, "127.0.0.1:0", env)
    }

    /// [`Server::start_with_env`] on a given address (a restart where saved tenant URLs point
    /// at the server itself).
    pub fn start_on(data_dir: &Path, bind: &str, env: &[(&str, &str)]) -> Server {
        let mut child = bin()
            .args(["serve", "--bind", bind])
            .env("PROVISIO_DATA_DIR", data_dir)
            .env("PROVISIO_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PROVISIO_LOG", "info")
            .env_remove("PROVISIO_DATABASE_URL")
            .envs(db_env(data_dir))
            .env_remove("PROVISIO_PUBLIC_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start provisio");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                            .collect();
                        let _ = tx.send(addr);
                    }
                    output.lock().unwrap().push(line);
                }
            }));
        }
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("provisio did not start: {:?}", output.lock().unwrap());
            }
        };
        Server {
            child,
            base: format!("http://{addr}"),
            data_dir: data_dir.to_path_buf(),
            output,
            readers,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn output_text(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// kill -9: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `limit` for the process to end; returns its exit code, or
    /// None (after killing it) when it was still running.
    pub fn terminate_within(mut self, limit: std::time::Duration) -> Option<i32> {
        self.send_term();
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.assert_no_panic();
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        None
    }

    /// Sends SIGTERM and waits for a graceful exit; returns the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        self.send_term();
        let code = self.child.wait().ok().and_then(|s| s.code());
        self.assert_no_panic();
        code
    }

    /// After the process ended: nothing in it panicked, shutdown included (every line it
    /// printed has been read once its output closed).
    fn assert_no_panic(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let output = self.output_text();
        assert!(!output.contains("panicked at"), "the server panicked:\n{output}");
    }

    fn send_term(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Calls a server function the way the hydrated console does (form-encoded, JSON back).
pub async fn call(c: &Client, s: &Server, endpoint: &str, form: &[(&str, &str)]) -> Response {
    c.post(s.url(&format!("/api/{endpoint}")))
        .header(ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Posts a form the way a browser without JavaScript does.
pub async fn post_html_form(
    c: &Client,
    s: &Server,
    endpoint: &str,
    referer: &str,
    form: &[(&str, &str)],
) -> Response {
    c.post(s.url(&format!("/api/{endpoint}")))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .header(REFERER, s.url(referer))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The JSON of a response that must be 200 OK.
pub async fn ok(r: Response) -> Value {
    let status = r.status();
    let v = json(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// The field and message of a server function's `Invalid` error.
pub fn field_error(v: &Value) -> (String, String) {
    (
        v["Invalid"]["field"].as_str().unwrap_or_default().to_string(),
        v["Invalid"]["message"].as_str().unwrap_or_default().to_string(),
    )
}

pub async fn json(r: Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
}

/// The CSRF token of the client's session (anonymous or signed in).
pub async fn csrf(c: &Client, s: &Server) -> String {
    // A page view gives the session its token.
    let _ = c.get(s.url("/login")).send().await.unwrap();
    let r = call(c, s, "session", &[]).await;
    let v = json(r).await;
    if let Some(t) = v.get("csrf").and_then(Value::as_str) {
        return t.to_string();
    }
    let v = json(call(c, s, "login_context", &[]).await).await;
    v["csrf"].as_str().expect("csrf token").to_string()
}

pub async fn login(c: &Client, s: &Server, user: &str, password: &str) -> Response {
    let token = csrf(c, s).await;
    call(
        c,
        s,
        "login",
        &[("csrf", &token), ("username", user), ("password", password)],
    )
    .await
}

/// Signs in and panics unless it worked.
pub async fn signed_in(s: &Server, user: &str, password: &str) -> Client {
    let c = client();
    let r = login(&c, s, user, password).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "sign-in of {user}: {}",
        r.text().await.unwrap()
    );
    c
}

/// Status of a page request: 200 when signed in, 303 to /login when not.
pub async fn page_status(c: &Client, s: &Server, path: &str) -> (StatusCode, String) {
    let r = c.get(s.url(path)).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location)
}

/// The server-rendered HTML of a page.
pub async fn page_html(c: &Client, s: &Server, path: &str) -> String {
    c.get(s.url(path)).send().await.unwrap().text().await.unwrap()
}

pub async fn console_usernames(c: &Client, s: &Server) -> Vec<String> {
    let v = json(call(c, s, "console_users/list", &[]).await).await;
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

pub async fn add_user(c: &Client, s: &Server, username: &str, role: &str, password: &str) -> Response {
    let token = csrf(c, s).await;
    call(
        c,
        s,
        "console_users/add",
        &[
            ("csrf", &token),
            ("username", username),
            ("role", role),
            ("password", password),
        ],
    )
    .await
}

/// A SCIM account made through the command line: its tenant URL and an API key.
pub struct Tenant {
    pub account: String,
    pub url: String,
    pub key: String,
}

/// The `provisio` CLI with `args`, set up for the server's data directory.
fn cli_command(s: &Server, args: &[&str]) -> Command {
    let mut c = bin();
    c.args(args)
        .env("PROVISIO_DATA_DIR", &s.data_dir)
        .env("PROVISIO_PUBLIC_URL", &s.base)
        .env_remove("PROVISIO_DATABASE_URL")
        .envs(db_env(&s.data_dir));
    c
}

/// Runs the `provisio` CLI against the server's data directory, whatever its exit code.
pub fn cli_output(s: &Server, args: &[&str]) -> std::process::Output {
    cli_command(s, args).output().expect("run provisio")
}

/// [`cli`] without blocking the test's runtime, for commands that talk to a server the test
/// itself runs (a misbehaving SCIM target, say); returns stdout.
pub async fn cli_async(s: &Server, args: &[&str]) -> String {
    let mut command = cli_command(s, args);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    let out = rx.await.unwrap().expect("run provisio");
    assert!(
        out.status.success(),
        "provisio {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the `provisio` CLI against the server's data directory; returns stdout.
pub fn cli(s: &Server, args: &[&str]) -> String {
    let out = cli_output(s, args);
    assert!(
        out.status.success(),
        "provisio {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn create_account(s: &Server, name: &str) -> (String, String) {
    let out = cli(s, &["account", "create", "--name", name]);
    let field = |label: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {label} in {out}"))
    };
    (field("Account id:"), field("Tenant URL:"))
}

pub fn create_key(s: &Server, account: &str, name: &str, group: &str) -> String {
    cli(
        s,
        &[
            "api-key",
            "create",
            "--account",
            account,
            "--name",
            name,
            "--group",
            group,
        ],
    )
    .trim()
    .to_string()
}

/// An account with an Account Administrators key.
pub fn tenant(s: &Server, name: &str) -> Tenant {
    let (account, url) = create_account(s, name);
    let key = create_key(s, &account, "idp", "Account Administrators");
    Tenant { account, url, key }
}

/// Reads an HTTP request's head from a raw connection (for the tests' stand-in servers).
pub fn read_request_head(stream: &std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        line.clear();
    }
}

/// An enterprise application made through the console's server function; its id.
pub async fn create_app(c: &Client, s: &Server, csrf: &str, template: &str, name: &str) -> String {
    ok(call(
        c,
        s,
        "apps/create",
        &[("csrf", csrf), ("template", template), ("name", name)],
    )
    .await)
    .await
    .as_str()
    .expect("the new application's id")
    .to_string()
}
