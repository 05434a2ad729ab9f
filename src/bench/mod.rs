//! `provisio bench-scim`: the SCIM endpoint's benchmark, side by side with scim2-server (the
//! reference implementation from ../shared/peers) under the same workload. It starts both
//! servers itself, loads the same users and groups into each over HTTP, then measures lookups,
//! deep pages, creates and deactivations, and prints req/s, p50 and p99 with the ratios.
//!
//! A benchmark, not a test: it asserts nothing, because this machine is shared and noisy.

pub mod directory;
mod layers;
pub mod lookup;
pub mod provisioning;

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Users to load into each server.
    #[arg(long, default_value_t = 100_000)]
    pub users: u64,
    /// Groups to load into each server.
    #[arg(long, default_value_t = 1_000)]
    pub groups: u64,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent connections to Provisio.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Concurrent connections to scim2-server (its HTTP/1.0 server resets beyond 4).
    #[arg(long, default_value_t = 4)]
    pub peer_connections: usize,
    /// The scim2-server executable; without it only Provisio is measured.
    #[arg(long)]
    pub scim2_server: Option<PathBuf>,
    /// Provisio's database (default: SQLite in a fresh data directory). A PostgreSQL URL must
    /// name an empty database (`createdb`).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Provisio instances serving the endpoint on that database, requests spread round robin
    /// over them (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Accounts the users are spread over (user i in account i mod N), loaded at once, as a
    /// SaaS vendor's endpoint serves many customers.
    #[arg(long, default_value_t = 1)]
    pub accounts: usize,
    /// Cap each instance to this share of one core (percent), as if each ran on a small machine
    /// of its own (cgroup `cpu` controller; root).
    #[arg(long, value_parser = clap::value_parser!(u32).range(5..=400))]
    pub instance_cpu: Option<u32>,
    /// Serve with this provisio binary instead of this one (to compare builds under the same
    /// client).
    #[arg(long)]
    pub server_exe: Option<PathBuf>,
}

/// How a benchmark starts Provisio.
struct Servers<'a> {
    connections: usize,
    database: Option<&'a str>,
    instances: usize,
    accounts: usize,
    log: &'a str,
    /// The binary that serves (default: this one).
    exe: Option<&'a std::path::Path>,
    /// Each instance's share of one core, in percent.
    cpu: Option<u32>,
}

struct Target {
    name: &'static str,
    accounts: Vec<Account>,
    connections: usize,
    client: reqwest::Client,
    user_ids: Vec<String>,
}

/// One account: its tenant URL at each instance, and its key.
#[derive(Clone)]
struct Account {
    bases: Vec<String>,
    token: String,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

type MakeRequest = Arc<dyn Fn(&Target, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// Runs `make` from `connections` workers until `limit` (a duration or a request count).
async fn run(target: &Arc<Target>, connections: usize, limit: Limit, make: MakeRequest) -> Stats {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (t, counter, errors, make, limit) = (
            target.clone(),
            counter.clone(),
            errors.clone(),
            make.clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                match &limit {
                    Limit::Count(c) if n >= *c => break,
                    Limit::Time(d) if start.elapsed() >= *d => break,
                    Limit::Until(stop) if stop.load(Ordering::Relaxed) => break,
                    _ => {}
                }
                let t0 = Instant::now();
                let ok = match make(&t, n).send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let _ = r.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort();
    Stats {
        requests: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
    }
}

#[derive(Clone)]
enum Limit {
    Count(u64),
    Time(Duration),
    /// Until the flag is set.
    Until(Arc<std::sync::atomic::AtomicBool>),
}

fn user(i: u64) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("bench.user.{i}@example.com"),
        "externalId": format!("ext-{i}"),
        "displayName": format!("Bench User {i}"),
        "name": {"givenName": "Bench", "familyName": format!("User {i}")},
        "emails": [{"value": format!("bench.user.{i}@example.com"), "type": "work", "primary": true}],
        "active": true,
    })
}

impl Target {
    /// The account of user (or group) `i`.
    fn account(&self, i: u64) -> &Account {
        &self.accounts[i as usize % self.accounts.len()]
    }

    /// The tenant URL of `i`'s account at the instance request `n` goes to (round robin).
    fn base(&self, i: u64, n: u64) -> &str {
        let a = self.account(i);
        &a.bases[n as usize % a.bases.len()]
    }
}

/// A request for `i`'s account, with its key.
fn authed(t: &Target, i: u64, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    r.header("Authorization", format!("Bearer {}", t.account(i).token))
        .header("Content-Type", "application/scim+json")
}

/// Loads users (collecting their ids) and groups; returns the create statistics.
async fn load(t: &mut Target, users: u64, groups: u64) -> anyhow::Result<(Stats, Stats)> {
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); users as usize]));
    let shared = Arc::new(Target {
        name: t.name,
        accounts: t.accounts.clone(),
        connections: t.connections,
        client: t.client.clone(),
        user_ids: Vec::new(),
    });
    // Creates go through a worker that records each new id.
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..t.connections {
        let (s, ids, counter) = (shared.clone(), ids.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    break;
                }
                let t0 = Instant::now();
                let r = authed(&s, i, s.client.post(format!("{}/Users", s.base(i, i))))
                    .body(user(i).to_string())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let v: Value = r.json().await.unwrap_or_default();
                        if let Some(id) = v["id"].as_str() {
                            ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i as usize] =
                                id.to_string();
                        }
                    }
                    _ => errors += 1,
                }
                lat.push(t0.elapsed());
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        lat.extend(l);
        errors += e;
    }
    lat.sort();
    let creates = Stats {
        requests: lat.len() as u64,
        errors,
        seconds: start.elapsed().as_secs_f64(),
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
    };
    let groups_stats = run(
        &shared,
        t.connections,
        Limit::Count(groups),
        Arc::new(|t: &Target, n| {
            authed(t, n, t.client.post(format!("{}/Groups", t.base(n, n))))
                .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("Bench Group {n}")}).to_string())
        }),
    )
    .await;
    t.user_ids = std::mem::take(&mut *ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    if t.user_ids.iter().any(String::is_empty) {
        return Err(anyhow!(
            "{}: some users could not be created ({errors} errors)",
            t.name
        ));
    }
    Ok((creates, groups_stats))
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18080)
}

/// Signs in to the console as `admin`; returns the client (with the session cookie) and the
/// CSRF token server functions want.
pub(crate) async fn sign_in(public: &str, password: &str) -> anyhow::Result<(reqwest::Client, String)> {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let _ = c.get(format!("{public}/login")).send().await?;
    let ctx: Value = c
        .post(format!("{public}/api/login_context"))
        .header("accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    let csrf = ctx["csrf"].as_str().unwrap_or_default().to_string();
    let r = c
        .post(format!("{public}/api/login"))
        .header("accept", "application/json")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", password),
        ])
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(anyhow!("sign-in failed: {}", r.status()));
    }
    // Signing in gives the session a new token.
    let me: Value = c
        .post(format!("{public}/api/session"))
        .header("accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    let csrf = me["csrf"].as_str().map(str::to_string).unwrap_or(csrf);
    Ok((c, csrf))
}

pub(crate) async fn wait_http(url: &str) -> anyhow::Result<()> {
    let c = reqwest::Client::new();
    for _ in 0..300 {
        if c.get(url).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(anyhow!("{url} did not answer"))
}

/// What a benchmark started: its processes (killed at the end) and the cgroups capping them
/// (removed after).
#[derive(Default)]
struct Guard {
    children: Vec<Child>,
    cgroups: Vec<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for g in &self.cgroups {
            let _ = std::fs::remove_dir(g);
        }
    }
}

/// Caps process `pid` (and the threads it starts) to `percent` of one core, in a cgroup of its
/// own: an instance standing in for one on a machine of its own, so that a run can show what
/// instances add when they, not the database or this machine's two cores, are the limit. Needs
/// a writable cgroup `cpu` controller (v1 or v2), as root.
fn cap_cpu(pid: u32, percent: u32) -> anyhow::Result<PathBuf> {
    let quota = u64::from(percent) * 1000;
    let name = format!("provisio-bench-{pid}");
    let v1 = std::path::Path::new("/sys/fs/cgroup/cpu");
    let v2 = std::path::Path::new("/sys/fs/cgroup");
    let dir = if v1.join("cpu.cfs_quota_us").exists() {
        let dir = v1.join(&name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("cpu.cfs_period_us"), "100000")?;
        std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
        dir
    } else if v2.join("cgroup.controllers").exists() {
        let dir = v2.join(&name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("cpu.max"), format!("{quota} 100000"))?;
        dir
    } else {
        return Err(anyhow!("--instance-cpu needs a cgroup cpu controller"));
    };
    std::fs::write(dir.join("cgroup.procs"), pid.to_string())
        .with_context(|| format!("--instance-cpu: cannot move provisio into {}", dir.display()))?;
    Ok(dir)
}

/// Runs the `provisio` command line on a data directory and, when given, a database URL
/// (otherwise the data directory's SQLite file).
pub(crate) fn cli(
    exe: &std::path::Path,
    data: &std::path::Path,
    public: &str,
    database: Option<&str>,
    args: &[&str],
) -> anyhow::Result<String> {
    let out = database_env(Command::new(exe).args(args), database)
        .env("PROVISIO_DATA_DIR", data)
        .env("PROVISIO_PUBLIC_URL", public)
        .output()?;
    if !out.status.success() {
        return Err(anyhow!(
            "provisio {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8(out.stdout)?)
}

pub(crate) fn database_env<'c>(c: &'c mut Command, database: Option<&str>) -> &'c mut Command {
    match database {
        Some(url) => c.env("PROVISIO_DATABASE_URL", url),
        None => c.env_remove("PROVISIO_DATABASE_URL"),
    }
}

/// An account made through the command line: its tenant URL (at `public`) and an Account
/// Administrators key.
fn new_account(
    exe: &std::path::Path,
    data: &std::path::Path,
    public: &str,
    database: Option<&str>,
    name: &str,
) -> anyhow::Result<(String, String)> {
    let out = cli(
        exe,
        data,
        public,
        database,
        &["account", "create", "--name", name],
    )?;
    let url = out
        .lines()
        .find_map(|l| l.strip_prefix("Tenant URL: "))
        .ok_or_else(|| anyhow!("no tenant URL"))?
        .to_string();
    let account = url.rsplit('/').next().unwrap_or_default().to_string();
    let key = cli(
        exe,
        data,
        public,
        database,
        &[
            "api-key",
            "create",
            "--account",
            &account,
            "--name",
            "bench",
            "--group",
            "Account Administrators",
        ],
    )?
    .trim()
    .to_string();
    Ok((url, key))
}

/// Provisio's instances, `accounts` accounts to load, and a quiet one that the load leaves alone
/// (its lookups show what the load costs the other tenants).
async fn start_provisio(
    s: &Servers<'_>,
    guard: &mut Guard,
) -> anyhow::Result<(Target, Account, tempfile::TempDir)> {
    let (conns, database, instances, accounts) = (s.connections, s.database, s.instances, s.accounts);
    if instances > 1 && !database.is_some_and(|d| d.starts_with("postgres")) {
        return Err(anyhow!("several instances need a PostgreSQL --database-url"));
    }
    let exe = match s.exe {
        Some(e) => e.to_path_buf(),
        None => std::env::current_exe()?,
    };
    let dir = tempfile::Builder::new().prefix("provisio-bench-").tempdir()?;
    let ports: Vec<u16> = (0..instances.max(1)).map(|_| free_port()).collect();
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let mut made = Vec::new();
    for a in 0..=accounts.max(1) {
        made.push(new_account(
            &exe,
            dir.path(),
            &public,
            database,
            &format!("bench {a}"),
        )?);
    }
    // The instances share the data directory, hence its key file.
    let mut bases = Vec::new();
    for port in ports {
        let child = database_env(&mut Command::new(&exe), database)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("PROVISIO_DATA_DIR", dir.path())
            .env("PROVISIO_ADMIN_PASSWORD", "benchmark admin password")
            .env("PROVISIO_LOG", s.log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start provisio")?;
        if let Some(percent) = s.cpu {
            guard.cgroups.push(cap_cpu(child.id(), percent)?);
        }
        guard.children.push(child);
        let base = format!("http://127.0.0.1:{port}");
        wait_http(&format!("{base}/healthz")).await?;
        bases.push(base);
    }
    let mut made: Vec<Account> = made
        .into_iter()
        .map(|(url, token)| Account {
            bases: bases.iter().map(|b| url.replace(&public, b)).collect(),
            token,
        })
        .collect();
    let quiet = made.remove(0);
    Ok((
        Target {
            name: "provisio",
            accounts: made,
            connections: conns,
            client: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
            user_ids: Vec::new(),
        },
        quiet,
        dir,
    ))
}

/// Starts scim2-server on a free port with bearer token `token`; returns it and its base URL once
/// it answers.
pub(crate) async fn spawn_scim2_server(
    exe: &std::path::Path,
    token: &str,
) -> anyhow::Result<(Child, String)> {
    let port = free_port();
    let mut child = Command::new(exe)
        .args([
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            token,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start scim2-server")?;
    let base = format!("http://127.0.0.1:{port}/v2");
    if let Err(e) = wait_http(&format!("{base}/ServiceProviderConfig")).await {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok((child, base))
}

async fn start_peer(exe: &std::path::Path, conns: usize) -> anyhow::Result<(Target, Child)> {
    let (child, base) = spawn_scim2_server(exe, "s3cret").await?;
    Ok((
        Target {
            name: "scim2-server",
            accounts: vec![Account {
                bases: vec![base],
                token: "s3cret".into(),
            }],
            connections: conns,
            client: reqwest::Client::builder().pool_max_idle_per_host(0).build()?,
            user_ids: Vec::new(),
        },
        child,
    ))
}

struct Row {
    phase: &'static str,
    ours: Stats,
    peer: Option<Stats>,
}

async fn measure(t: &Arc<Target>, users: u64, seconds: u64) -> Vec<(&'static str, Stats)> {
    let d = Limit::Time(Duration::from_secs(seconds));
    let mut out = Vec::new();
    let lookup: MakeRequest = Arc::new(move |t: &Target, n| {
        let i = (n.wrapping_mul(2_654_435_761)) % users;
        authed(t, i, t.client.get(format!("{}/Users", t.base(i, n))))
            .query(&[("filter", format!("userName eq \"bench.user.{i}@example.com\""))])
    });
    out.push((
        "userName eq lookup",
        run(t, t.connections, d.clone(), lookup).await,
    ));
    let per_account = users / t.accounts.len() as u64;
    let start = if per_account > 50_100 {
        50_001
    } else {
        (per_account / 2).max(1)
    };
    let page: MakeRequest = Arc::new(move |t: &Target, n| {
        authed(t, n, t.client.get(format!("{}/Users", t.base(n, n))))
            .query(&[("startIndex", start.to_string()), ("count", "100".to_string())])
    });
    out.push((
        "page startIndex=50001&count=100",
        run(t, t.connections, d.clone(), page).await,
    ));
    let patch: MakeRequest = Arc::new(|t: &Target, n| {
        let i = (n * 7919) % t.user_ids.len() as u64;
        let id = &t.user_ids[i as usize];
        authed(t, i, t.client.patch(format!("{}/Users/{id}", t.base(i, n)))).body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "active", "value": n % 2 == 1}]})
            .to_string(),
        )
    });
    out.push(("PATCH active=false", run(t, t.connections, d, patch).await));
    out
}

fn print(rows: &[Row], args: &BenchArgs) {
    println!();
    let database = match args.database_url.as_deref() {
        Some(u) if u.starts_with("postgres") => "PostgreSQL",
        _ => "SQLite",
    };
    println!(
        "SCIM endpoint benchmark: {} users, {} groups over {} account(s); provisio ({} instance(s) on {database}) at {} connections, scim2-server at {}",
        args.users, args.groups, args.accounts, args.instances, args.connections, args.peer_connections
    );
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "phase", "req/s", "p50 ms", "p99 ms", "peer req/s", "peer p50", "peer p99", "ratio"
    );
    for r in rows {
        let (pr, p50, p99, ratio) = match &r.peer {
            Some(p) => (
                format!("{:.1}", p.rate()),
                format!("{:.2}", p.p50_ms),
                format!("{:.2}", p.p99_ms),
                format!("{:.1}x", r.ours.rate() / p.rate().max(1e-9)),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<34} {:>10.1} {:>9.2} {:>9.2} {:>10} {:>9} {:>9} {:>9}",
            r.phase,
            r.ours.rate(),
            r.ours.p50_ms,
            r.ours.p99_ms,
            pr,
            p50,
            p99,
            ratio
        );
        if r.ours.errors > 0 || r.peer.as_ref().is_some_and(|p| p.errors > 0) {
            println!(
                "  errors: provisio {}, scim2-server {}",
                r.ours.errors,
                r.peer.as_ref().map_or(0, |p| p.errors)
            );
        }
    }
}

/// Users of the quiet account.
const QUIET_USERS: u64 = 100;

/// Lookups in the quiet account from one connection, until `limit`.
async fn quiet_lookups(quiet: &Arc<Target>, limit: Limit) -> Stats {
    let lookup: MakeRequest = Arc::new(|t: &Target, n| {
        let i = n % QUIET_USERS;
        authed(t, 0, t.client.get(format!("{}/Users", t.base(0, n))))
            .query(&[("filter", format!("userName eq \"quiet.user.{i}@example.com\""))])
    });
    run(quiet, 1, limit, lookup).await
}

pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let mut children = Guard::default();
    let servers = Servers {
        connections: args.connections,
        database: args.database_url.as_deref(),
        instances: args.instances,
        accounts: args.accounts,
        log: "warn",
        exe: args.server_exe.as_deref(),
        cpu: args.instance_cpu,
    };
    let (mut ours, quiet, _dir) = start_provisio(&servers, &mut children).await?;
    let quiet = Arc::new(Target {
        name: "quiet",
        accounts: vec![quiet],
        connections: 1,
        client: ours.client.clone(),
        user_ids: Vec::new(),
    });
    let make_quiet: MakeRequest = Arc::new(|t: &Target, n| {
        let mut u = user(n);
        u["userName"] = json!(format!("quiet.user.{n}@example.com"));
        authed(t, 0, t.client.post(format!("{}/Users", t.base(0, n)))).body(u.to_string())
    });
    run(&quiet, 1, Limit::Count(QUIET_USERS), make_quiet).await;
    let quiet_alone = quiet_lookups(&quiet, Limit::Time(Duration::from_secs(3))).await;
    eprintln!(
        "loading {} users and {} groups into provisio ({} account(s))…",
        args.users, args.groups, args.accounts
    );
    let loading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = tokio::spawn({
        let (quiet, loading) = (quiet.clone(), loading.clone());
        async move { quiet_lookups(&quiet, Limit::Until(loading)).await }
    });
    let loaded = load(&mut ours, args.users, args.groups).await;
    loading.store(true, Ordering::Relaxed);
    let quiet_loaded = probe.await?;
    let (our_creates, our_groups) = loaded?;
    let ours = Arc::new(ours);
    let our_rows = measure(&ours, args.users, args.seconds).await;

    let mut peer_rows = None;
    let mut peer_load = None;
    if let Some(exe) = &args.scim2_server {
        let (mut peer, child) = start_peer(exe, args.peer_connections).await?;
        children.children.push(child);
        eprintln!(
            "loading {} users and {} groups into scim2-server…",
            args.users, args.groups
        );
        peer_load = Some(load(&mut peer, args.users, args.groups).await?);
        let peer = Arc::new(peer);
        peer_rows = Some(measure(&peer, args.users, args.seconds).await);
    }
    let mut rows = vec![
        Row {
            phase: "POST /Users (load)",
            ours: our_creates,
            peer: peer_load.as_ref().map(|p| p.0.clone()),
        },
        Row {
            phase: "POST /Groups (load)",
            ours: our_groups,
            peer: peer_load.as_ref().map(|p| p.1.clone()),
        },
    ];
    for (i, (phase, s)) in our_rows.into_iter().enumerate() {
        rows.push(Row {
            phase,
            ours: s,
            peer: peer_rows.as_ref().map(|p| p[i].1.clone()),
        });
    }
    print(&rows, &args);
    println!(
        "quiet account's userName lookups (1 connection): alone {:.1} req/s, p50 {:.2} / p99 {:.2} ms; during the load {:.1} req/s, p50 {:.2} / p99 {:.2} ms",
        quiet_alone.rate(),
        quiet_alone.p50_ms,
        quiet_alone.p99_ms,
        quiet_loaded.rate(),
        quiet_loaded.p50_ms,
        quiet_loaded.p99_ms
    );
    Ok(())
}
