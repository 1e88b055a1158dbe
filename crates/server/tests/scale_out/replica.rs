//! The parts past one database, real ones: a streaming replica made with `pg_basebackup -R`
//! and PgBouncer in transaction pooling mode, both started by `scripts/replica.sh start` (which
//! `.ci/run` runs before its PostgreSQL pass). Stale-tolerant reads come from the replica while
//! it is fresh and from the primary when it stops, with no request failing; a PgBouncer restart
//! loses no acknowledged write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

use crate::cluster::{self, ADMIN_EMAIL, Cluster, Parts, same_database, wait_until};

fn database() -> Option<String> {
    let url = std::env::var("PEKEN_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty());
    if url.is_none() {
        println!("skipped: a replica and a pooler need PostgreSQL (PEKEN_TEST_DATABASE_URL)");
    }
    url
}

/// Starts the replica again when dropped, so that a failed test leaves it running for the next.
struct RestartReplica;

impl Drop for RestartReplica {
    fn drop(&mut self) {
        cluster::replica_script("start-replica");
    }
}

async fn new_commodity(c: &Cluster, p: usize, admin: &str, name: &str) -> cluster::Reply {
    c.post(
        p,
        "/api/v1/admin/commodities",
        Some(admin),
        &json!({"name": name, "category": "sembako", "unit": "kg"}),
    )
    .await
}

async fn audit_has(c: &Cluster, admin: &str, subject: &str) -> bool {
    c.get(
        0,
        &format!("/api/v1/admin/audit-log?subject_id={subject}"),
        Some(admin),
    )
    .await
    .expect(200)
    .text
    .contains("commodity.created")
}

async fn readyz(c: &Cluster) -> String {
    c.get(0, "/readyz", None).await.expect(200).text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stale_reads_come_from_the_replica_and_from_the_primary_when_it_stops() {
    let Some(base_url) = database() else { return };
    let Some(replica) = cluster::part("PEKEN_TEST_REPLICA_URL") else {
        println!("skipped: no read replica (PEKEN_TEST_REPLICA_URL)");
        return;
    };
    let _alone = cluster::PARTS.write().await;
    // The replica replays what every earlier test wrote; on a busy machine it can be many
    // seconds behind, which is what the allowed lag and the waits below leave room for.
    let parts = Parts {
        replica: Some(replica.clone()),
        vars: vec![
            ("PEKEN_DATABASE_READ_PROBE_MS".into(), "200".into()),
            ("PEKEN_DATABASE_READ_MAX_LAG_SECONDS".into(), "30".into()),
        ],
        ..Parts::default()
    };
    let c = &Cluster::start_with(&base_url, 1, &parts).await;
    // The test's fresh database was created on the primary; physical replication brings it to
    // the replica, where the process's probe finds it.
    wait_until(
        "the replica to be in use",
        Duration::from_secs(180),
        || async { readyz(c).await.contains("read replica: ok") },
    )
    .await;
    let (admin, _) = c.login(0, ADMIN_EMAIL).await;

    // A write on the primary is seen through the replica after the lag: the audit log reads
    // from the replica, which no read has failed over from.
    let written = Instant::now();
    let id = new_commodity(c, 0, &admin, "Gula Pasir Replika")
        .await
        .expect(201)
        .str("/id");
    let on_replica = Database::connect(same_database(&replica, &c.database_url))
        .await
        .unwrap();
    wait_until(
        "the row on the replica",
        Duration::from_secs(60),
        || async {
            on_replica
                .query_one_raw(Statement::from_string(
                    on_replica.get_database_backend(),
                    format!("SELECT 1 AS one FROM commodities WHERE id = '{id}'"),
                ))
                .await
                .unwrap()
                .is_some()
        },
    )
    .await;
    let lag = written.elapsed();
    wait_until(
        "the audit log to show the write",
        Duration::from_secs(60),
        || async { audit_has(c, &admin, &id).await },
    )
    .await;
    on_replica.close().await.ok();
    assert_eq!(c.metric(0, "peken_read_replica_in_use").await, 1);
    assert_eq!(c.metric(0, "peken_read_replica_fallbacks_total").await, 0);
    println!(
        "a write on the primary was on the replica within {} ms",
        lag.as_millis()
    );

    // Reads under load while the replica stops: none fails.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let stop = stop.clone();
            let admin = admin.clone();
            async move {
                let paths = [
                    "/api/v1/admin/audit-log?limit=20",
                    "/api/v1/reports/turnover",
                    "/api/v1/listings",
                ];
                let mut statuses = Vec::new();
                let mut i = r;
                while !stop.load(Ordering::Relaxed) {
                    let reply = c.get(0, paths[i % paths.len()], Some(&admin)).await;
                    let text = if reply.status == 200 {
                        String::new()
                    } else {
                        reply.text
                    };
                    statuses.push((paths[i % paths.len()], reply.status, text));
                    i += 1;
                }
                statuses
            }
        })
        .collect();
    let stopping = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::task::spawn_blocking(|| cluster::replica_script("stop-replica"))
            .await
            .unwrap();
        let restart = RestartReplica;
        // Reads go on past the probe's next look and a few more.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::Relaxed);
        restart
    };
    let (statuses, restart) =
        futures_util::future::join(futures_util::future::join_all(readers), stopping).await;
    let statuses: Vec<_> = statuses.into_iter().flatten().collect();
    let failed: Vec<_> = statuses.iter().filter(|(_, s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} reads failed, the first: {:?}",
        failed.len(),
        failed.first()
    );
    println!(
        "{} reads while the replica stopped, none failed; {} failed on the replica and were \
         answered by the primary",
        statuses.len(),
        c.metric(0, "peken_read_replica_fallbacks_total").await
    );

    // The replica down: the process stays ready, says so, and reads see the primary's writes
    // at once (no replica could have them).
    wait_until(
        "readiness to name the replica unavailable",
        Duration::from_secs(10),
        || async { readyz(c).await.contains("read replica: unavailable") },
    )
    .await;
    assert_eq!(c.metric(0, "peken_read_replica_in_use").await, 0);
    let id = new_commodity(c, 0, &admin, "Gula Merah Primer")
        .await
        .expect(201)
        .str("/id");
    assert!(audit_has(c, &admin, &id).await);
    // A process that starts while the replica is down starts all the same, ready, on the
    // primary.
    let late = &Cluster::start_with(&base_url, 1, &parts).await;
    assert!(
        readyz(late)
            .await
            .contains("read replica: unavailable, reads on the primary")
    );
    let (late_admin, _) = late.login(0, ADMIN_EMAIL).await;
    late.get(0, "/api/v1/reports/turnover", Some(&late_admin))
        .await
        .expect(200);

    // Back up, it catches up by streaming and the reads return to it.
    drop(restart);
    wait_until(
        "the replica to be in use again",
        Duration::from_secs(180),
        || async { readyz(c).await.contains("read replica: ok") },
    )
    .await;
    assert_eq!(c.metric(0, "peken_read_replica_in_use").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pgbouncer_restart_loses_no_acknowledged_write() {
    let Some(base_url) = database() else { return };
    let Some(pooler) = cluster::part("PEKEN_TEST_PGBOUNCER_URL") else {
        println!("skipped: no PgBouncer (PEKEN_TEST_PGBOUNCER_URL)");
        return;
    };
    let _alone = cluster::PARTS.write().await;
    let parts = Parts {
        pooler: Some(pooler),
        ..Parts::default()
    };
    let c = &Cluster::start_with(&base_url, 1, &parts).await;
    let (admin, _) = c.login(0, ADMIN_EMAIL).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let stop = stop.clone();
            let admin = admin.clone();
            async move {
                let mut acknowledged = Vec::new();
                let mut refused = 0;
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = new_commodity(c, 0, &admin, &format!("Tepung {w}-{n}")).await;
                    n += 1;
                    if r.status == 201 {
                        acknowledged.push(r.str("/id"));
                    } else {
                        // Only the database being unreachable may refuse a write.
                        assert!(r.status >= 500, "a write: {} {}", r.status, r.text);
                        refused += 1;
                    }
                }
                (acknowledged, refused)
            }
        })
        .collect();
    let restarting = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        tokio::task::spawn_blocking(|| cluster::replica_script("restart-pgbouncer"))
            .await
            .unwrap();
        let restarted = Instant::now();
        // Writing goes on until some writes have succeeded after the restart.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::Relaxed);
        restarted
    };
    let (results, _) =
        futures_util::future::join(futures_util::future::join_all(writers), restarting).await;
    let acknowledged: Vec<String> = results.iter().flat_map(|(a, _)| a.clone()).collect();
    let refused: usize = results.iter().map(|(_, r)| r).sum();
    let kept = c
        .number(&format!(
            "SELECT COUNT(*) FROM commodities WHERE id IN ({})",
            acknowledged
                .iter()
                .map(|id| format!("'{id}'"))
                .collect::<Vec<_>>()
                .join(",")
        ))
        .await;
    assert_eq!(
        kept,
        acknowledged.len() as i64,
        "an acknowledged write is gone"
    );
    // Served again after the restart.
    new_commodity(c, 0, &admin, "Tepung Sesudah")
        .await
        .expect(201);
    println!(
        "{} writes acknowledged across a PgBouncer restart, all kept; {refused} refused while it \
         was down",
        acknowledged.len()
    );
}

/// What a transaction-pooling PgBouncer would lose between transactions, looked for in the SQL
/// the workspace sends: session settings (`SET` without `LOCAL`), session advisory locks
/// (`pg_advisory_xact_lock` is released with its transaction and is fine), temporary tables,
/// `LISTEN`, and SQL-level `PREPARE`. The protocol-level statements sqlx prepares are the one
/// piece of session state left, which PgBouncer 1.21's `max_prepared_statements` carries.
#[test]
fn no_session_state_a_transaction_pooler_would_lose() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let forbidden = [
        "pg_advisory_lock(",
        "pg_try_advisory_lock(",
        "pg_advisory_lock_shared(",
        "CREATE TEMP",
        "CREATE TEMPORARY",
        "LISTEN ",
        "PREPARE ",
        "SET SESSION",
        "set_config(",
    ];
    let mut files = Vec::new();
    let mut dirs = vec![root.join("crates"), root.join("migrations")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // This suite names the forbidden words itself.
                if !path.ends_with("tests/scale_out") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs" || e == "sql") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 100, "the workspace's sources were not found");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // The workspace writes SQL keywords in capitals.
            let session_set = ["\"SET ", "; SET "].iter().any(|p| {
                code.match_indices(p).any(|(i, _)| {
                    let after = &code[i + p.len()..];
                    !after.starts_with("LOCAL ")
                        && !after.starts_with("TRANSACTION ")
                        && !after.starts_with("CONSTRAINTS ")
                })
            });
            if session_set || forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, code));
            }
        }
    }
    assert!(found.is_empty(), "session state:\n{}", found.join("\n"));
}
