//! `provisio bench-provisioning`: the provisioning engine's benchmark (BENCHMARKS.md).
//!
//! 1. The initial cycle of a generated directory (users with managers, groups with members;
//!    "Sync all users and groups") into a local account of the same server over HTTP: objects per
//!    second (users + groups + memberships) and the server's peak memory.
//! 2. Propagation: single attribute changes in the directory, each timed until the target shows
//!    it (p50/p99).
//! 3. An incremental cycle with nothing to do, timed directly.
//! 4. With `--scim2-server`: the same initial cycle (at `--peer-users`) into Provisio's own
//!    account and into scim2-server, side by side.
//!
//! A benchmark, not a test: it prints figures and asserts nothing.

use super::{cli, free_port, sign_in, wait_http};
use anyhow::{anyhow, Context};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Users in the directory.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Groups the users are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub groups: usize,
    /// Single changes timed for propagation.
    #[arg(long, default_value_t = 100)]
    pub changes: usize,
    /// The scim2-server executable, for the side-by-side initial cycle.
    #[arg(long)]
    pub scim2_server: Option<PathBuf>,
    /// Users in the side-by-side run (scim2-server keeps everything in memory and is slow).
    #[arg(long, default_value_t = 2_000)]
    pub peer_users: usize,
    /// Provisio's database (default: SQLite in a fresh data directory); a PostgreSQL URL must name
    /// an empty database (`createdb`). Not with --scim2-server, whose runs each need a fresh one.
    #[arg(long)]
    pub database_url: Option<String>,
}

const PASSWORD: &str = "benchmark admin password";

/// A provisio server with a generated directory and one application, stopped when dropped.
struct Bench {
    exe: PathBuf,
    dir: tempfile::TempDir,
    public: String,
    child: Child,
    app: String,
    users: usize,
    database: Option<String>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bench {
    async fn start(exe: &Path, users: usize, groups: usize, database: Option<&str>) -> anyhow::Result<Bench> {
        let dir = tempfile::Builder::new()
            .prefix("provisio-bench-prov-")
            .tempdir()?;
        let file = dir.path().join("users.csv");
        super::directory::write_csv(&file, users, groups)?;
        let port = free_port();
        let public = format!("http://127.0.0.1:{port}");
        cli(
            exe,
            dir.path(),
            &public,
            database,
            &["import", "users", &file.to_string_lossy()],
        )?;
        let child = super::database_env(&mut Command::new(exe), database)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("PROVISIO_DATA_DIR", dir.path())
            .env("PROVISIO_ADMIN_PASSWORD", PASSWORD)
            .env("PROVISIO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start provisio")?;
        wait_http(&format!("{public}/healthz")).await?;
        let app = cli(
            exe,
            dir.path(),
            &public,
            database,
            &["app", "create", "--template", "scim2", "--name", "Bench"],
        )?
        .trim()
        .to_string();
        Ok(Bench {
            exe: exe.to_path_buf(),
            dir,
            public,
            child,
            app,
            users,
            database: database.map(String::from),
        })
    }

    fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        cli(
            &self.exe,
            self.dir.path(),
            &self.public,
            self.database.as_deref(),
            args,
        )
    }

    /// The benchmark's database, for the measurements made in this process.
    async fn pool(&self) -> anyhow::Result<crate::db::Pool> {
        let target = match &self.database {
            Some(url) => crate::config::DatabaseTarget::Postgres {
                url: url.clone(),
                max_connections: 4,
            },
            None => crate::config::DatabaseTarget::Sqlite {
                path: self.dir.path().join("provisio.db"),
            },
        };
        crate::db::connect(&target).await
    }

    /// An account of this server with an administrator key: (tenant URL, key).
    fn local_account(&self) -> anyhow::Result<(String, String)> {
        let out = self.cli(&["account", "create", "--name", "Target"])?;
        let field = |label: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(label))
                .map(|v| v.trim().to_string())
                .ok_or_else(|| anyhow!("no {label} in {out}"))
        };
        let (account, url) = (field("Account id:")?, field("Tenant URL:")?);
        let key = self.cli(&[
            "api-key",
            "create",
            "--account",
            &account,
            "--name",
            "bench",
            "--group",
            "Account Administrators",
        ])?;
        Ok((url, key.trim().to_string()))
    }

    fn status(&self) -> anyhow::Result<Value> {
        // Exit code 1 means quarantine; the JSON is printed either way.
        let out = super::database_env(&mut Command::new(&self.exe), self.database.as_deref())
            .args(["app", "status", &self.app, "--json"])
            .env("PROVISIO_DATA_DIR", self.dir.path())
            .output()?;
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Configures provisioning into `url` for everyone, On or Off.
    fn configure(&self, url: &str, token: &str, on: bool) -> anyhow::Result<()> {
        let mut doc: Value = serde_json::from_str(&self.cli(&["app", "export", &self.app])?)?;
        doc["mode"] = "automatic".into();
        doc["tenant_url"] = url.into();
        doc["settings"]["scope"] = "all".into();
        doc["settings"]["provisioning_status"] = if on { "on" } else { "off" }.into();
        // Everyone is new: nothing can exceed the deletion threshold, but say so.
        doc["settings"]["prevent_accidental_deletions"] = false.into();
        let file = self.dir.path().join("config.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&doc)?)?;
        let out = super::database_env(&mut Command::new(&self.exe), self.database.as_deref())
            .args([
                "app",
                "apply",
                &self.app,
                &file.to_string_lossy(),
                "--secret-token-env",
                "BENCH_TOKEN",
            ])
            .env("PROVISIO_DATA_DIR", self.dir.path())
            .env("BENCH_TOKEN", token)
            .output()?;
        if !out.status.success() {
            return Err(anyhow!("app apply: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }

    /// Before the initial cycle: its preview (the engine's plan with read-only lookups, nothing
    /// written), then an expression's what-if over every user in scope.
    fn preview(&self, url: &str, token: &str) -> anyhow::Result<()> {
        self.configure(url, token, false)?;
        let started = Instant::now();
        let p: Value =
            serde_json::from_str(&self.cli(&["app", "preview", &self.app, "--json", "--limit", "0"])?)?;
        println!(
            "preview of the initial cycle: {:.1} s ({} to create; {} ms in the engine, the rest starting the command)",
            started.elapsed().as_secs_f64(),
            p["counters"]["created"],
            p["elapsed_ms"]
        );
        let expression = r#"Join(".", ToLower([givenName]), ToLower([surname]))"#;
        let started = Instant::now();
        let w: Value = serde_json::from_str(&self.cli(&[
            "app",
            "test-expression",
            &self.app,
            "--expression",
            expression,
            "--all",
            "--target",
            "userName",
            "--json",
        ])?)?;
        println!(
            "what-if of {expression} over every user in scope: {:.1} s ({} users, {} distinct values, {} shared by {} users)",
            started.elapsed().as_secs_f64(),
            w["evaluated"],
            w["distinct"],
            w["duplicated_values"],
            w["duplicated_users"]
        );
        Ok(())
    }

    /// After the cycles: the drift report (every user and group read back from the application
    /// and compared with the connector data store).
    fn drift(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let r: Value = serde_json::from_str(&self.cli(&["app", "drift", &self.app, "--json"])?)?;
        println!(
            "drift report: {:.1} s ({} users and {} groups read; {} orphans, {} drifted, {} missing; {} ms in the engine){}",
            started.elapsed().as_secs_f64(),
            r["users_read"],
            r["groups_read"],
            r["orphans_total"],
            r["drifted_total"],
            r["missing_total"],
            r["elapsed_ms"],
            match r["error"].as_str() {
                Some(e) if !e.is_empty() => format!(" error: {e}"),
                _ => String::new(),
            }
        );
        // Which attributes differ, over the findings listed (a clean run has none).
        let mut by: std::collections::BTreeMap<String, usize> = Default::default();
        for d in r["drifted"].as_array().into_iter().flatten() {
            for a in d["attributes"].as_array().into_iter().flatten() {
                *by.entry(a["name"].as_str().unwrap_or_default().to_string())
                    .or_default() += 1;
            }
        }
        if let Some(first) = r["drifted"].get(0) {
            println!(
                "  drifted attributes among those listed: {by:?}; first: {}",
                first["attributes"]
            );
        }
        Ok(())
    }

    /// Turns provisioning On into `url` for everyone; returns when the initial cycle ended.
    async fn initial_cycle(&self, url: &str, token: &str) -> anyhow::Result<Figures> {
        self.configure(url, token, true)?;
        let started = Instant::now();
        let mut peak = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            peak = peak.max(peak_rss_kb(self.child.id()));
            let s = self.status()?;
            let done = s["history"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["kind"] == "initial" && c["state"] != "Running")
                .cloned();
            if let Some(c) = done {
                if c["state"] == "Failed" {
                    return Err(anyhow!("the initial cycle failed: {}", c["error"]));
                }
                let seconds = c["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0;
                let counts = &c["counts"];
                return Ok(Figures {
                    users: counts["created"].as_i64().unwrap_or(0),
                    failed: counts["failed"].as_i64().unwrap_or(0),
                    seconds,
                    wall: started.elapsed().as_secs_f64(),
                    peak_kb: peak.max(peak_rss_kb(self.child.id())),
                    groups: s["groups_managed"].as_i64().unwrap_or(0),
                    users_managed: s["users_managed"].as_i64().unwrap_or(0),
                });
            }
            if started.elapsed() > Duration::from_secs(3 * 3600) {
                return Err(anyhow!("the initial cycle did not end in 3 hours"));
            }
        }
    }
}

struct Figures {
    users: i64,
    failed: i64,
    users_managed: i64,
    groups: i64,
    seconds: f64,
    wall: f64,
    peak_kb: u64,
}

/// The process's peak resident memory (VmHWM), in kB; 0 where /proc is not available.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Memberships of the generated directory (each group's direct user members), counted in the
/// database the benchmark wrote.
async fn memberships(b: &Bench) -> anyhow::Result<i64> {
    let pool = b.pool().await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM dir_members WHERE member_type = 'user'")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(n)
}

fn report(label: &str, f: &Figures, memberships: i64) {
    let objects = f.users_managed + f.groups + memberships;
    println!(
        "{label}: {} users + {} groups + {memberships} memberships = {objects} objects in {:.1} s \
         ({:.0} objects/s, {:.0} users/s; {} failed; {:.1} s from switching On to the end); peak memory {:.0} MB",
        f.users_managed,
        f.groups,
        f.seconds,
        objects as f64 / f.seconds.max(1e-9),
        f.users as f64 / f.seconds.max(1e-9),
        f.failed,
        f.wall,
        f.peak_kb as f64 / 1024.0
    );
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    if ms.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99), *ms.last().unwrap_or(&0.0))
}

/// Changes a user's job title through the console's API and times until the target shows it.
async fn propagation(b: &Bench, url: &str, token: &str, changes: usize) -> anyhow::Result<()> {
    let (c, csrf) = sign_in(&b.public, PASSWORD).await?;
    let page: Value = c
        .post(format!("{}/api/directory/users", b.public))
        .header("accept", "application/json")
        .form(&[("q", "")])
        .send()
        .await?
        .json()
        .await?;
    let users: Vec<(String, String)> = page["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["account_enabled"] == true)
        .filter_map(|u| Some((u["id"].as_str()?.to_string(), u["upn"].as_str()?.to_string())))
        .collect();
    if users.is_empty() {
        return Err(anyhow!("no enabled users to change"));
    }
    let target = reqwest::Client::new();
    let mut ms = Vec::with_capacity(changes);
    for i in 0..changes {
        let (id, upn) = &users[i % users.len()];
        let title = format!("Title {i}");
        let t = Instant::now();
        let r = c
            .post(format!("{}/api/directory/update_user", b.public))
            .header("accept", "application/json")
            .form(&[("csrf", csrf.as_str()), ("id", id), ("attrs[jobTitle]", &title)])
            .send()
            .await?;
        if !r.status().is_success() {
            return Err(anyhow!("update_user: {}", r.text().await?));
        }
        loop {
            let v: Value = target
                .get(format!("{url}/Users"))
                .query(&[("filter", format!("userName eq \"{upn}\""))])
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            if v["Resources"][0]["title"] == title.as_str() {
                break;
            }
            if t.elapsed() > Duration::from_secs(60) {
                return Err(anyhow!("change {i} did not arrive in 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99, max) = percentiles(ms);
    println!(
        "propagation of a single change (directory edit -> visible in the target), {changes} changes: \
         p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms"
    );
    Ok(())
}

/// Runs incremental cycles with nothing to do, in this process against the same database.
async fn empty_incremental(b: &Bench, runs: usize) -> anyhow::Result<()> {
    let pool = b.pool().await?;
    let sealer = crate::secrets::Sealer::load(None, b.dir.path())?;
    let http = crate::provisioning::connection::client(Duration::from_secs(15));
    let tuning = crate::provisioning::engine::Tuning::default();
    // The server's own cycle for the last change may still be finishing: settle first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    crate::provisioning::engine::run(&pool, &sealer, &http, &b.app, &tuning)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let r = crate::provisioning::engine::run(&pool, &sealer, &http, &b.app, &tuning)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if r.kind != crate::db::vocab::CycleKind::Incremental || r.counters.processed != 0 {
            return Err(anyhow!(
                "expected an empty incremental cycle, got {} with {:?}",
                r.kind,
                r.counters
            ));
        }
    }
    pool.close().await;
    let (p50, p99, max) = percentiles(ms);
    println!(
        "incremental cycle with nothing to do at {} users, {runs} runs: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        b.users
    );
    Ok(())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let database = args.database_url.as_deref();
    if database.is_some() && args.scim2_server.is_some() {
        return Err(anyhow!("--database-url and --scim2-server: run them separately"));
    }
    println!(
        "Initial cycle: {} users over {} groups, \"Sync all users and groups\", into a local account over HTTP, on {}",
        args.users,
        args.groups,
        if database.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    let b = Bench::start(&exe, args.users, args.groups, database).await?;
    let (url, key) = b.local_account()?;
    let members = memberships(&b).await?;
    b.preview(&url, &key)?;
    let f = b.initial_cycle(&url, &key).await?;
    report("provisio -> provisio account", &f, members);
    propagation(&b, &url, &key, args.changes).await?;
    empty_incremental(&b, 20).await?;
    b.drift()?;
    drop(b);

    if let Some(peer) = &args.scim2_server {
        let groups = (args.peer_users / 100).max(1);
        println!(
            "\nSide by side: {} users over {groups} groups, the same initial cycle into each target",
            args.peer_users
        );
        let b = Bench::start(&exe, args.peer_users, groups, None).await?;
        let (url, key) = b.local_account()?;
        let members = memberships(&b).await?;
        let f = b.initial_cycle(&url, &key).await?;
        report("provisio -> provisio account", &f, members);
        drop(b);

        let (mut server, url) = super::spawn_scim2_server(peer, "bench").await?;
        let result = async {
            let b = Bench::start(&exe, args.peer_users, groups, None).await?;
            let members = memberships(&b).await?;
            let f = b.initial_cycle(&url, "bench").await?;
            report("provisio -> scim2-server   ", &f, members);
            anyhow::Ok(())
        }
        .await;
        let _ = server.kill();
        let _ = server.wait();
        result?;
    }
    Ok(())
}
