//! `provisio bench-directory`: writes a generated directory to a CSV file, starts the server on a
//! fresh data directory and times `provisio import users` on the file while a console client keeps
//! writing (its latency and failures show whether the import holds other writers up), then times
//! the console's directory pages (server-rendered HTML, signed in) at that size.
//!
//! A benchmark, not a test: it prints figures and asserts nothing.

use super::{cli, free_port, wait_http};
use anyhow::{anyhow, Context};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Users in the generated file.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Groups the users are spread over (through the file's `groups` column).
    #[arg(long, default_value_t = 1_000)]
    pub groups: usize,
    /// Requests per page measured.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

const COLUMNS: &[&str] = &[
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "officeLocation",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "telephoneNumber",
    "mobile",
    "preferredLanguage",
    "extensionAttribute1",
    "manager",
    "accountEnabled",
    "groups",
];

/// The demo directory as an import file, so the benchmark measures the real import path.
pub(super) fn write_csv(path: &std::path::Path, users: usize, groups: usize) -> anyhow::Result<Vec<String>> {
    let rows = crate::directory::demo::users(users, groups, "contoso.com", 1);
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(COLUMNS)?;
    let mut names = Vec::with_capacity(rows.len());
    for r in &rows {
        let c = &r.changes;
        let attr = |n: &str| {
            c.attrs
                .iter()
                .find(|(k, _)| *k == n)
                .and_then(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut rec: Vec<String> = Vec::new();
        for col in COLUMNS {
            rec.push(match *col {
                "userPrincipalName" => c.upn.clone().unwrap_or_default(),
                "displayName" => c.display_name.clone().unwrap_or_default(),
                "mail" => c.mail.clone().flatten().unwrap_or_default(),
                "manager" => c.manager.clone().flatten().unwrap_or_default(),
                "accountEnabled" => c.enabled.unwrap_or(true).to_string(),
                "groups" => r.groups.join(";"),
                other => attr(other),
            });
        }
        names.push(c.display_name.clone().unwrap_or_default().to_lowercase());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(names)
}

struct Timing {
    p50: f64,
    p99: f64,
    max: f64,
}

async fn time_page(c: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<Timing> {
    // One warm-up request: the first render loads statements into the connection's cache.
    let r = c.get(url).send().await?;
    if !r.status().is_success() {
        return Err(anyhow!("{url}: {}", r.status()));
    }
    let _ = r.text().await?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c.get(url).send().await?;
        let _ = r.text().await?;
        samples.push(t.elapsed());
    }
    Ok(Timing::of(samples))
}

impl Timing {
    /// p50, p99 and max of the samples, in milliseconds.
    fn of(mut samples: Vec<std::time::Duration>) -> Timing {
        samples.sort();
        Timing {
            p50: super::percentile(&samples, 0.5),
            p99: super::percentile(&samples, 0.99),
            max: super::percentile(&samples, 1.0),
        }
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let dir = tempfile::Builder::new().prefix("provisio-bench-dir-").tempdir()?;
    let file = dir.path().join("users.csv");
    let t = Instant::now();
    let mut names = write_csv(&file, args.users, args.groups)?;
    let bytes = std::fs::metadata(&file)?.len();
    println!(
        "Generated {} users over {} groups: {:.1} MB CSV in {:.1} s",
        args.users,
        args.groups,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    // The directory benchmark measures the default, SQLite. The server runs during the import,
    // and a console client writes to the directory throughout, as admins and SCIM clients would:
    // the import must not hold their writes up.
    let password = "benchmark admin password";
    let mut child = Command::new(&exe)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("PROVISIO_DATA_DIR", dir.path())
        .env("PROVISIO_ADMIN_PASSWORD", password)
        .env("PROVISIO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start provisio")?;
    let result = async {
        wait_http(&format!("{public}/healthz")).await?;
        let (c, csrf) = super::sign_in(&public, password).await?;
        let t = Instant::now();
        let import = {
            let (exe, data, public, file) = (exe.clone(), dir.path().to_path_buf(), public.clone(), file.clone());
            tokio::task::spawn_blocking(move || {
                cli(&exe, &data, &public, None, &["import", "users", &file.to_string_lossy()])
            })
        };
        let writes = write_during(&c, &public, &csrf, &import).await;
        let out = import.await??;
        let import_s = t.elapsed().as_secs_f64();
        println!("{}", out.trim());
        println!(
            "import users: {import_s:.1} s for {} users ({:.0} users/s, whole command: read, validate, write)",
            args.users,
            args.users as f64 / import_s
        );
        println!("{}", writes?);
        pages(&public, &c, &mut names, args.requests).await
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Creates groups through the console, one after another, until `import` ends; the latency of
/// each write and how many failed, as a line to print.
async fn write_during<T>(
    c: &reqwest::Client,
    public: &str,
    csrf: &str,
    import: &tokio::task::JoinHandle<T>,
) -> anyhow::Result<String> {
    let mut samples = Vec::new();
    let mut failed = 0;
    while !import.is_finished() {
        let t = Instant::now();
        let name = format!("Written during the import {}", samples.len());
        let r = c
            .post(format!("{public}/api/directory/create_group"))
            .header("accept", "application/json")
            .form(&[("csrf", csrf), ("name", &name)])
            .send()
            .await?;
        if !r.status().is_success() {
            failed += 1;
        }
        samples.push(t.elapsed());
    }
    let n = samples.len();
    let t = Timing::of(samples);
    Ok(format!(
        "console writes during the import: {n} ({failed} failed); p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        t.p50, t.p99, t.max
    ))
}

async fn pages(public: &str, c: &reqwest::Client, names: &mut [String], n: usize) -> anyhow::Result<()> {
    names.sort();
    let middle = names.get(names.len() / 2).cloned().unwrap_or_default();
    let cursor = crate::model::user_cursor(&middle, "");
    let first: serde_json::Value = c
        .post(format!("{public}/api/directory/users"))
        .header("accept", "application/json")
        .form(&[("q", "")])
        .send()
        .await?
        .json()
        .await?;
    let user_id = first["rows"][0]["id"].as_str().unwrap_or_default().to_string();
    let pages = [
        ("users, first page", "/directory/users".to_string()),
        ("users, search \"ma\"", "/directory/users?q=ma".to_string()),
        (
            "users, search \"ndez\" (inside)",
            "/directory/users?q=ndez".to_string(),
        ),
        (
            "users, department \"sales\"",
            "/directory/users?department=sales".to_string(),
        ),
        ("users, disabled", "/directory/users?enabled=disabled".to_string()),
        (
            "users, page from the middle",
            reqwest::Url::parse_with_params(&format!("{public}/directory/users"), [("after", &cursor)])?
                .as_str()
                .trim_start_matches(public)
                .to_string(),
        ),
        ("user detail", format!("/directory/users/{user_id}")),
        ("groups, first page", "/directory/groups".to_string()),
        ("deleted users", "/directory/deleted-users".to_string()),
    ];
    println!("\nServer-rendered pages at this size ({n} sequential requests each, client-side latency over loopback):");
    println!("{:<32} {:>9} {:>9} {:>9}", "page", "p50 ms", "p99 ms", "max ms");
    for (label, path) in pages {
        let t = time_page(c, &format!("{public}{path}"), n).await?;
        println!("{label:<32} {:>9.2} {:>9.2} {:>9.2}", t.p50, t.p99, t.max);
    }
    Ok(())
}
