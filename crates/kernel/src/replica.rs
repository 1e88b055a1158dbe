//! Reads that may be a little stale, served by a streaming replica (`PEKEN_DATABASE_READ_URL`)
//! while it is up and fresh, by the primary otherwise.
//!
//! A probe in the background asks, every `PEKEN_DATABASE_READ_PROBE_MS`, how far the replica is
//! behind: the primary's current WAL position is read first, and a replica that has replayed up
//! to it is fresh whatever its last replayed transaction's time says (on an idle primary that
//! time stops advancing, and a replica compared by it alone would look lagged). Otherwise the lag
//! is the age of the last replayed transaction, and more than `PEKEN_DATABASE_READ_MAX_LAG_SECONDS`
//! sends reads to the primary. A replica cut off from its primary stops advancing while the
//! primary goes on, so it looks lagged too, never fresh.
//!
//! Between two probes a read that fails on the replica (stopped, restarting, a query cancelled
//! by recovery) is answered by the primary, and the replica is left out until the next probe
//! finds it good again: a replica going away fails no request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use prometheus::{Gauge, IntCounter, IntGauge};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

/// Where reads go, as `/readyz` and the metrics tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Reads go to the replica.
    InUse,
    /// The replica answers but is further behind than allowed.
    Lagging,
    /// The replica does not answer.
    Unavailable,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InUse => "ok",
            Self::Lagging => "lagging, reads on the primary",
            Self::Unavailable => "unavailable, reads on the primary",
        }
    }
}

/// The replica's connection and what the last probe found.
pub struct ReadReplica {
    db: DatabaseConnection,
    max_lag: Duration,
    fresh: AtomicBool,
    state: std::sync::Mutex<ReplicaState>,
    in_use: IntGauge,
    lag_seconds: Gauge,
    fallbacks: IntCounter,
}

impl ReadReplica {
    pub fn new(
        db: DatabaseConnection,
        max_lag: Duration,
        metrics: &crate::metrics::Metrics,
    ) -> Self {
        Self {
            db,
            max_lag,
            fresh: AtomicBool::new(false),
            state: std::sync::Mutex::new(ReplicaState::Unavailable),
            in_use: metrics.read_replica_in_use.clone(),
            lag_seconds: metrics.read_replica_lag_seconds.clone(),
            fallbacks: metrics.read_replica_fallbacks.clone(),
        }
    }

    /// Whether reads go to the replica now.
    pub fn is_fresh(&self) -> bool {
        self.fresh.load(Ordering::Acquire)
    }

    pub fn state(&self) -> ReplicaState {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, state: ReplicaState) {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = state;
        self.fresh
            .store(state == ReplicaState::InUse, Ordering::Release);
        self.in_use.set(i64::from(state == ReplicaState::InUse));
    }

    /// A read failed on the replica: the primary answers it, and the replica waits for the next
    /// probe.
    fn failed(&self, error: &DbErr) {
        tracing::warn!(error = %error, "a read failed on the read replica; the primary answers it");
        self.fallbacks.inc();
        self.set(ReplicaState::Unavailable);
    }

    /// Asks the primary and the replica once and records what they said.
    pub async fn probe(&self, primary: &DatabaseConnection) -> ReplicaState {
        let state = match tokio::time::timeout(Duration::from_secs(2), self.lag(primary)).await {
            Ok(Ok(lag)) => {
                self.lag_seconds.set(lag.as_secs_f64());
                if lag <= self.max_lag {
                    ReplicaState::InUse
                } else {
                    ReplicaState::Lagging
                }
            }
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "read replica probe failed");
                ReplicaState::Unavailable
            }
            Err(_) => ReplicaState::Unavailable,
        };
        if state != self.state() {
            tracing::info!(state = state.as_str(), "read replica");
        }
        self.set(state);
        state
    }

    /// How far the replica is behind the primary; zero when it has replayed everything the
    /// primary had written when asked.
    async fn lag(&self, primary: &DatabaseConnection) -> Result<Duration, DbErr> {
        let current = primary
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_current_wal_lsn()::text AS lsn",
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("no WAL position from the primary".into()))?
            .try_get::<String>("", "lsn")?;
        // An LSN is two hexadecimal numbers and a slash; anything else is not put into SQL.
        if current.is_empty() || !current.chars().all(|c| c.is_ascii_hexdigit() || c == '/') {
            return Err(DbErr::Custom(format!(
                "unexpected WAL position {current:?}"
            )));
        }
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT NOT pg_is_in_recovery() \
                         OR COALESCE(pg_last_wal_replay_lsn() >= '{current}'::pg_lsn, false) \
                         AS caught_up, \
                     COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), \
                              1e9)::float8 AS lag"
                ),
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("no answer from the replica".into()))?;
        if row.try_get::<bool>("", "caught_up")? {
            return Ok(Duration::ZERO);
        }
        let lag = row.try_get::<f64>("", "lag")?;
        Ok(Duration::from_secs_f64(lag.clamp(0.0, 1e9)))
    }

    /// Probes every `interval` until the replica is dropped.
    pub fn spawn_probe(self: &Arc<Self>, primary: DatabaseConnection, interval: Duration) {
        let replica: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(replica) = replica.upgrade() else {
                    break;
                };
                replica.probe(&primary).await;
            }
        });
    }
}

/// A connection for reads that may be stale: the replica while it is fresh, else the primary.
/// Only `query_*` may go to the replica; anything executed goes to the primary.
#[derive(Clone, Copy)]
pub struct ReadDb<'a> {
    pub(crate) primary: &'a DatabaseConnection,
    pub(crate) replica: Option<&'a ReadReplica>,
}

impl<'a> ReadDb<'a> {
    fn replica(&self) -> Option<&'a ReadReplica> {
        self.replica.filter(|r| r.is_fresh())
    }

    /// The connection a streamed read uses: the replica while it is fresh, else the primary.
    /// A stream cannot move to the primary halfway, so a replica failing during it cuts the
    /// answer off rather than falling back.
    pub fn connection(&self) -> &'a DatabaseConnection {
        self.replica().map_or(self.primary, |r| &r.db)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ReadDb<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.primary.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.primary.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.primary.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        if let Some(replica) = self.replica() {
            match replica.db.query_one_raw(stmt.clone()).await {
                Ok(row) => return Ok(row),
                Err(error) => replica.failed(&error),
            }
        }
        self.primary.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if let Some(replica) = self.replica() {
            match replica.db.query_all_raw(stmt.clone()).await {
                Ok(rows) => return Ok(rows),
                Err(error) => replica.failed(&error),
            }
        }
        self.primary.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.primary.support_returning()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::{ReadDb, ReadReplica, ReplicaState};
    use crate::metrics::Metrics;

    /// A replica nobody listens for, and an in-memory primary.
    async fn parts() -> (sea_orm::DatabaseConnection, ReadReplica, Metrics) {
        let primary = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let metrics = Metrics::new().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let db = crate::db::connect_replica(&format!("postgres://u@127.0.0.1:{port}/x"), 2)
            .await
            .unwrap();
        let replica = ReadReplica::new(db, Duration::from_secs(5), &metrics);
        (primary, replica, metrics)
    }

    #[tokio::test]
    async fn a_read_the_replica_fails_is_answered_by_the_primary() {
        let (primary, replica, metrics) = parts().await;
        // As if the last probe had found it fresh, and it went away since.
        replica.set(ReplicaState::InUse);
        assert_eq!(metrics.read_replica_in_use.get(), 1);
        let read = ReadDb {
            primary: &primary,
            replica: Some(&replica),
        };
        let rows = read
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT 7 AS n"))
            .await
            .unwrap();
        assert_eq!(rows[0].try_get::<i32>("", "n").unwrap(), 7);
        assert_eq!(replica.state(), ReplicaState::Unavailable);
        assert_eq!(metrics.read_replica_fallbacks.get(), 1);
        assert_eq!(metrics.read_replica_in_use.get(), 0);
        // Left out now: the next read goes to the primary without trying it.
        read.query_one_raw(Statement::from_string(DbBackend::Sqlite, "SELECT 1"))
            .await
            .unwrap();
        assert_eq!(metrics.read_replica_fallbacks.get(), 1);
    }

    #[tokio::test]
    async fn a_replica_that_does_not_answer_is_not_used() {
        let (primary, replica, metrics) = parts().await;
        replica.set(ReplicaState::InUse);
        assert_eq!(replica.probe(&primary).await, ReplicaState::Unavailable);
        assert!(!replica.is_fresh());
        assert_eq!(metrics.read_replica_in_use.get(), 0);
    }
}
