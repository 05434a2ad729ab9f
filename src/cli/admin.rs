//! `provisio admin ...`: console users, for the first sign-in or a lost password.

use super::open_db;
use crate::audit::{self, Actor, Outcome};
use crate::config::CommonArgs;
use crate::db;
use crate::server::StartError;
use clap::Subcommand;

use crate::auth;
use crate::model::Role;
use std::io::BufRead;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add a console user. The password is read from stdin with --password-stdin, otherwise one
    /// is generated and printed once.
    Create {
        username: String,
        #[arg(long, default_value = "administrator", value_parser = ["administrator", "viewer"])]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List console users.
    List,
    /// Set a new password (from stdin with --password-stdin, or generated and printed once) and
    /// end the user's sessions.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a console user and end their sessions.
    Disable { username: String },
    /// Enable a disabled console user.
    Enable { username: String },
}

/// Reads the password from the first line of stdin, or generates one to print once.
fn new_password(from_stdin: bool, username: &str) -> Result<(String, bool), StartError> {
    if !from_stdin {
        return Ok((auth::password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    auth::password::validate_new(&password, username)
        .map_err(|m| StartError::Other(anyhow::anyhow!("password not accepted: {m}")))?;
    Ok((password, false))
}

fn show_generated(username: &str, password: &str) {
    println!("Password for {username} (shown only this once): {password}");
}

pub(super) async fn run(common: &CommonArgs, command: AdminCommand) -> Result<(), StartError> {
    let pool = open_db(common).await?;
    let now = crate::timefmt::now();
    let actor = Actor::cli();
    let find = |name: String| {
        let pool = pool.clone();
        async move {
            let name = name.trim().to_lowercase();
            db::console_users::credentials_by_username(&pool, &name)
                .await
                .map_err(anyhow::Error::from)?
                .ok_or_else(|| StartError::Other(anyhow::anyhow!("there is no console user named {name}")))
        }
    };
    match command {
        AdminCommand::Create {
            username,
            role,
            password_stdin,
        } => {
            let username = crate::api::console_users::normalize_username(&username)
                .map_err(|e| StartError::Other(anyhow::anyhow!("user name not accepted: {e}")))?;
            let role = Role::parse(&role)
                .ok_or_else(|| StartError::Other(anyhow::anyhow!("unknown role {role:?}")))?;
            let (password, generated) = new_password(password_stdin, &username)?;
            let hash = auth::password::hash(password.clone()).await;
            let id = crate::ids::new();
            match db::console_users::insert(&pool, &id, &username, &hash, role, &now).await {
                Ok(()) => {}
                Err(e) if db::is_unique_violation(&e) => {
                    return Err(anyhow::anyhow!("a console user named {username} already exists").into())
                }
                Err(e) => return Err(anyhow::Error::from(e).into()),
            }
            audit::record(
                &pool,
                &actor,
                "console_user.create",
                &username,
                Outcome::Success,
                &format!("role {}", role.label()),
            )
            .await;
            println!("Created {} {username}.", role.label());
            if generated {
                show_generated(&username, &password);
            }
        }
        AdminCommand::List => {
            let users = db::console_users::list(&pool)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "{:<32} {:<14} {:<9} {:<25}",
                "USER NAME", "ROLE", "STATUS", "LAST SIGN-IN"
            );
            for u in users {
                println!(
                    "{:<32} {:<14} {:<9} {:<25}",
                    u.username,
                    u.role.label(),
                    if u.disabled { "disabled" } else { "enabled" },
                    u.last_sign_in_at.unwrap_or_else(|| "never".into())
                );
            }
        }
        AdminCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let user = find(username).await?;
            let (password, generated) = new_password(password_stdin, &user.username)?;
            let hash = auth::password::hash(password.clone()).await;
            db::console_users::set_password(&pool, &user.id, &hash, &now)
                .await
                .map_err(anyhow::Error::from)?;
            audit::record(
                &pool,
                &actor,
                "console_user.reset_password",
                &user.username,
                Outcome::Success,
                "sessions ended",
            )
            .await;
            println!(
                "Password of {} replaced; their sessions have ended.",
                user.username
            );
            if generated {
                show_generated(&user.username, &password);
            }
        }
        AdminCommand::Disable { username } => {
            let user = find(username).await?;
            db::console_users::set_disabled(&pool, &user.id, true, &now)
                .await
                .map_err(anyhow::Error::from)?;
            audit::record(
                &pool,
                &actor,
                "console_user.disable",
                &user.username,
                Outcome::Success,
                "",
            )
            .await;
            println!("Disabled {}; their sessions have ended.", user.username);
        }
        AdminCommand::Enable { username } => {
            let user = find(username).await?;
            db::console_users::set_disabled(&pool, &user.id, false, &now)
                .await
                .map_err(anyhow::Error::from)?;
            audit::record(
                &pool,
                &actor,
                "console_user.enable",
                &user.username,
                Outcome::Success,
                "",
            )
            .await;
            println!("Enabled {}.", user.username);
        }
    }
    pool.close().await;
    Ok(())
}
