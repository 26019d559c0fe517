use std::sync::OnceLock;

use rand::Rng;
use sqlx::Connection;

use crate::Cluster;
use crate::cluster::ClusterError;

/// The cluster shared by all tests of one test binary, when `DATABASE_URL` is not set.
static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// A fresh, empty database for one test, on the server named by `DATABASE_URL` or else on a
/// private cluster that this test binary starts once. Each test gets its own database, so tests
/// run in parallel without seeing each other's rows.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub name: String,
}

impl TestDatabase {
    pub async fn create() -> Result<Self, ClusterError> {
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(url) => url,
            Err(_) => tokio::task::spawn_blocking(shared_cluster_url)
                .await
                .map_err(|error| ClusterError::Command {
                    command: "start cluster".into(),
                    detail: error.to_string(),
                })??,
        };
        let name = format!("sigstack_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut connection = sqlx::PgConnection::connect(&admin_url)
            .await
            .map_err(|error| ClusterError::Command {
                command: format!("connect to {admin_url}"),
                detail: error.to_string(),
            })?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .map_err(|error| ClusterError::Command {
                command: "CREATE DATABASE".into(),
                detail: error.to_string(),
            })?;
        let url = replace_database(&admin_url, &name);
        Ok(Self { url, name })
    }
}

fn shared_cluster_url() -> Result<String, ClusterError> {
    let shared = SHARED.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("sigstack-pg-")
            .tempdir()
            .map_err(|error| error.to_string())?;
        // The watchdog deletes the directory once the server stops.
        let path = dir.keep();
        Cluster::start(&path, true).map_err(|error| error.to_string())
    });
    match shared {
        Ok(cluster) => Ok(cluster.url()),
        Err(detail) => Err(ClusterError::Command {
            command: "start test cluster".into(),
            detail: detail.clone(),
        }),
    }
}

/// Replaces the database name (the path) of a PostgreSQL URL, keeping any query string.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://u@h:5/a", "b"),
            "postgres://u@h:5/b"
        );
        assert_eq!(
            replace_database("postgres://u@h:5", "b"),
            "postgres://u@h:5/b"
        );
        assert_eq!(
            replace_database("postgres://u@h/a?sslmode=disable", "b"),
            "postgres://u@h/b?sslmode=disable"
        );
    }
}
