//! Console sessions in the application's database, SQLite or PostgreSQL, through
//! tower-sessions' sqlx stores. Those take their driver's own pool, so the store has a small pool
//! of its own beside the application's.

use crate::config::DatabaseTarget;
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

const TABLE: &str = "console_sessions";

#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Store {
    /// Opens the store on the database the settings name. On SQLite it creates its table; on
    /// PostgreSQL the table comes with the migrations, so several instances starting at once do
    /// not race to create it.
    pub async fn open(target: &DatabaseTarget) -> anyhow::Result<Store> {
        match target {
            DatabaseTarget::Sqlite { path } => {
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_with(crate::db::sqlite_options(path))
                    .await?;
                let store = SqliteStore::new(pool)
                    .with_table_name(TABLE)
                    .map_err(|e| anyhow::anyhow!("session table name: {e}"))?;
                store.migrate().await?;
                Ok(Store::Sqlite(store))
            }
            DatabaseTarget::Postgres { url, .. } => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect(url)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", target.describe()))?;
                let store = PostgresStore::new(pool)
                    .with_schema_name("public")
                    .and_then(|s| s.with_table_name(TABLE))
                    .map_err(|e| anyhow::anyhow!("session table name: {e}"))?;
                Ok(Store::Postgres(store))
            }
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.create(record).await,
            Store::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.save(record).await,
            Store::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite(s) => s.load(id).await,
            Store::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.delete(id).await,
            Store::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.delete_expired().await,
            Store::Postgres(s) => s.delete_expired().await,
        }
    }
}
