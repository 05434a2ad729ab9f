//! Looking after an installation, over the real binary: `provisio backup` while the server runs,
//! `provisio restore` (refused under a running server; the same data after), and
//! `provisio rotate-encryption-key` (every stored secret still usable with the new key, none with
//! the old one; an interrupted rotation finished at the next start).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{setup, Setup};
use common::{csrf, signed_in, Server, ADMIN_PASSWORD};
use std::path::Path;
use std::process::Output;

/// The CLI against a data directory whose server is stopped.
fn cli_at(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    common::bin()
        .args(args)
        .env("PROVISIO_DATA_DIR", dir)
        .env_remove("PROVISIO_DATABASE_URL")
        .env_remove("PROVISIO_ENCRYPTION_KEY")
        .envs(common::db_env(dir))
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn users(x: &Setup) -> Vec<String> {
    let page = x.post("directory/users", &[]).await;
    let mut upns: Vec<String> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["upn"].as_str().unwrap().to_string())
        .collect();
    upns.sort();
    upns
}

/// Starts the server on `dir` again, on the address it had (the application's saved tenant URL
/// is the server's own SCIM endpoint), and signs in.
async fn started(dir: &Path, x_app: String, target: common::Tenant, keep: tempfile::TempDir) -> Setup {
    let bind = target
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let s = Server::start_on(dir, &bind, &[]);
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    Setup {
        s,
        c,
        t,
        app: x_app,
        target,
        _dir: keep,
    }
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_the_same_data() {
    let x = setup().await;
    x.user("ann@contoso.com", "Ann Lee", &[]).await;
    let dir = x.s.data_dir.clone();
    let file = dir
        .parent()
        .unwrap()
        .join(format!("backup-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let out = common::cli_output(&x.s, &["backup", file.to_str().unwrap()]);
    if common::postgres().is_some() {
        assert!(
            !out.status.success() && text(&out).contains("pg_dump"),
            "{}",
            text(&out)
        );
        return;
    }
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("keep a copy of the key"), "{}", text(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = common::cli_output(&x.s, &["backup", file.to_str().unwrap()]);
    assert!(!again.status.success() && text(&again).contains("exists"));

    // After the backup: another user, then a restore refused while the server runs.
    x.user("bob@contoso.com", "Bob Stone", &[]).await;
    assert_eq!(users(&x).await, ["ann@contoso.com", "bob@contoso.com"]);
    let refused = common::cli_output(&x.s, &["restore", file.to_str().unwrap()]);
    assert!(
        !refused.status.success() && text(&refused).contains("server is running"),
        "{}",
        text(&refused)
    );
    let not_a_backup = dir.parent().unwrap().join("not-a-backup.db");
    std::fs::write(&not_a_backup, b"hello").unwrap();

    let Setup {
        s, app, target, _dir, ..
    } = x;
    assert_eq!(s.terminate(), Some(0));
    let bad = cli_at(&dir, &[], &["restore", not_a_backup.to_str().unwrap()]);
    assert!(!bad.status.success(), "{}", text(&bad));
    let out = cli_at(&dir, &[], &["restore", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 directory user(s)"), "{}", text(&out));
    assert!(text(&out).contains("is kept as"), "{}", text(&out));

    let x = started(&dir, app, target, _dir).await;
    assert_eq!(users(&x).await, ["ann@contoso.com"]);
    // The restored database works on: writes, and the application's saved token.
    x.user("cy@contoso.com", "Cy Park", &[]).await;
    common::cli(&x.s, &["app", "test-connection", &x.app]);
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn rotating_the_key_keeps_every_secret_usable_and_retires_the_old_key() {
    let x = setup().await;
    x.post(
        "notifications/save",
        &[
            ("host", "127.0.0.1"),
            ("port", "2525"),
            ("tls", "none"),
            ("username", "mailer"),
            ("password", "smtp secret"),
            ("from_address", "provisio@contoso.com"),
        ],
    )
    .await;
    let dir = x.s.data_dir.clone();
    let key_file = dir.join("secret.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    let refused = common::cli_output(&x.s, &["rotate-encryption-key"]);
    assert!(
        !refused.status.success() && text(&refused).contains("server is running"),
        "{}",
        text(&refused)
    );

    let Setup {
        s, app, target, _dir, ..
    } = x;
    assert_eq!(s.terminate(), Some(0));
    let out = cli_at(&dir, &[], &["rotate-encryption-key"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Re-sealed 2 secret(s)"), "{}", text(&out));
    let new_key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    assert_ne!(new_key, old_key);
    assert!(!dir.join("secret.key.next").exists());

    // The old key opens nothing any more.
    let with_old = cli_at(
        &dir,
        &[("PROVISIO_ENCRYPTION_KEY", &old_key)],
        &["app", "test-connection", &app],
    );
    assert!(
        !with_old.status.success() && text(&with_old).contains("cannot be opened"),
        "{}",
        text(&with_old)
    );

    // With the new key the token works as before.
    let x = started(&dir, app, target, _dir).await;
    common::cli(&x.s, &["app", "test-connection", &x.app]);
    let audit = x.post("audit/page", &[]).await.to_string();
    assert!(audit.contains("encryption_key.rotate"), "{audit}");

    // A rotation interrupted after the database was re-sealed, before the key file was
    // replaced: the next start finishes it.
    let Setup {
        s, app, target, _dir, ..
    } = x;
    assert_eq!(s.terminate(), Some(0));
    let before = std::fs::read_to_string(&key_file).unwrap();
    let out = cli_at(&dir, &[], &["rotate-encryption-key"]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::rename(&key_file, dir.join("secret.key.next")).unwrap();
    std::fs::write(&key_file, &before).unwrap();
    let x = started(&dir, app, target, _dir).await;
    assert!(!dir.join("secret.key.next").exists());
    assert_ne!(std::fs::read_to_string(&key_file).unwrap(), before);
    common::cli(&x.s, &["app", "test-connection", &x.app]);
    assert!(x
        .s
        .output_text()
        .contains("finished an interrupted encryption key rotation"));
}
