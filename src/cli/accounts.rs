//! `provisio account ...` and `provisio api-key ...`: SCIM accounts and their API keys.

use super::open_db;
use crate::audit::Actor;
use crate::config::{self, CommonArgs};
use crate::db;
use crate::server::StartError;
use clap::Subcommand;

use clap::Args;

/// How tenant URLs are printed by the command line: the server's public URL.
#[derive(Debug, Clone, Args)]
pub struct PublicUrlArg {
    /// The server's public URL, to print tenant URLs with; default http://127.0.0.1:3000.
    #[arg(long, env = "PROVISIO_PUBLIC_URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id and tenant URL.
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        url: PublicUrlArg,
    },
    /// List accounts with their tenant URLs.
    List {
        #[command(flatten)]
        url: PublicUrlArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key; prints it once.
    Create {
        /// Account id (or name).
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        #[arg(long)]
        name: String,
        /// A user group whose permissions the key inherits (repeat for several).
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
        /// Days until the key expires; without it the key does not expire.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List an account's API keys (never the keys themselves).
    List {
        #[arg(long, allow_hyphen_values = true)]
        account: String,
    },
    /// Revoke an API key, by id or by its prefix.
    Revoke {
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        key: String,
    },
}

fn public_url(arg: &PublicUrlArg) -> Result<String, StartError> {
    let default = std::net::SocketAddr::from(([127, 0, 0, 1], 3000));
    Ok(config::parse_public_url(arg.public_url.as_deref(), default)?)
}

fn account_error(e: crate::accounts::AccountError) -> StartError {
    StartError::Other(anyhow::anyhow!("{e}"))
}

async fn find_account(pool: &db::Pool, id_or_name: &str) -> Result<db::scim_accounts::Account, StartError> {
    db::scim_accounts::find(pool, id_or_name.trim())
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| StartError::Other(anyhow::anyhow!("there is no account {id_or_name:?}")))
}

pub(super) async fn account(common: &CommonArgs, command: AccountCommand) -> Result<(), StartError> {
    let pool = open_db(common).await?;
    match command {
        AccountCommand::Create { name, url } => {
            let url = public_url(&url)?;
            let a = crate::accounts::create_account(&pool, &name, &Actor::cli())
                .await
                .map_err(account_error)?;
            println!("Created account {} ({}).", a.name, a.id);
            println!("Account id: {}", a.id);
            println!("Tenant URL: {}", crate::scim_server::tenant_url(&url, &a.id));
        }
        AccountCommand::List { url } => {
            let url = public_url(&url)?;
            let now = crate::timefmt::now();
            let accounts = db::scim_accounts::list(&pool, &now)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "{:<24} {:<30} {:>7} {:>7} {:>5}  TENANT URL",
                "ACCOUNT ID", "NAME", "USERS", "GROUPS", "KEYS"
            );
            for a in accounts {
                println!(
                    "{:<24} {:<30} {:>7} {:>7} {:>5}  {}",
                    a.account.id,
                    a.account.name,
                    a.users,
                    a.groups,
                    a.active_keys,
                    crate::scim_server::tenant_url(&url, &a.account.id)
                );
            }
        }
    }
    pool.close().await;
    Ok(())
}

pub(super) async fn api_key(common: &CommonArgs, command: ApiKeyCommand) -> Result<(), StartError> {
    let pool = open_db(common).await?;
    match command {
        ApiKeyCommand::Create {
            account,
            name,
            groups,
            expires_in_days,
        } => {
            let a = find_account(&pool, &account).await?;
            let k =
                crate::accounts::create_api_key(&pool, &a.id, &name, &groups, expires_in_days, &Actor::cli())
                    .await
                    .map_err(account_error)?;
            eprintln!(
                "Created API key {name} ({}…) for account {}. It is shown only this once:",
                k.prefix, a.name
            );
            println!("{}", k.key);
        }
        ApiKeyCommand::List { account } => {
            let a = find_account(&pool, &account).await?;
            let now = crate::timefmt::now();
            let keys = db::scim_accounts::keys(&pool, &a.id)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "{:<38} {:<24} {:<14} {:<8} {:<25} {:<25} GROUPS",
                "ID", "NAME", "PREFIX", "STATUS", "CREATED", "LAST USED"
            );
            for k in keys {
                println!(
                    "{:<38} {:<24} {:<14} {:<8} {:<25} {:<25} {}",
                    k.id,
                    k.name,
                    k.prefix,
                    k.status(&now),
                    k.created_at,
                    k.last_used_at.clone().unwrap_or_else(|| "never".into()),
                    k.groups.join(", ")
                );
            }
        }
        ApiKeyCommand::Revoke { account, key } => {
            let a = find_account(&pool, &account).await?;
            let name = crate::accounts::revoke_api_key(&pool, &a.id, &key, &Actor::cli())
                .await
                .map_err(account_error)?;
            println!("Revoked API key {name}.");
        }
    }
    pool.close().await;
    Ok(())
}
