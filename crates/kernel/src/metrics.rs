//! Prometheus metrics: request counts and latencies, plus counters the domains add.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Domain events by name (`checkout`, `payment_confirmed`, `mail_sent`, …) and outcome.
    pub events: IntCounterVec,
    /// SQL statements sent by the server's connections (`crate::db::count_statements`).
    pub db_statements: IntCounter,
    /// 1 while reads that may be stale go to the read replica, 0 while they go to the primary
    /// (no replica configured, or it is lagging or down).
    pub read_replica_in_use: IntGauge,
    /// The replica's lag as last probed (0 when it has replayed all the primary had written).
    pub read_replica_lag_seconds: Gauge,
    /// Reads that failed on the replica and were answered by the primary.
    pub read_replica_fallbacks: IntCounter,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("peken".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ],
            ),
            &["method", "route"],
        )?;
        let events = IntCounterVec::new(
            Opts::new("events_total", "Domain events by kind and outcome"),
            &["event", "outcome"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        let db_statements = IntCounter::new(
            "db_statements_total",
            "SQL statements sent to the database by this server (BEGIN and COMMIT not counted)",
        )?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(db_statements.clone()))?;
        let read_replica_in_use = IntGauge::new(
            "read_replica_in_use",
            "1 while stale-tolerant reads go to the read replica, 0 while they go to the primary",
        )?;
        let read_replica_lag_seconds = Gauge::new(
            "read_replica_lag_seconds",
            "The read replica's replay lag at the last probe",
        )?;
        let read_replica_fallbacks = IntCounter::new(
            "read_replica_fallbacks_total",
            "Reads that failed on the read replica and were answered by the primary",
        )?;
        registry.register(Box::new(read_replica_in_use.clone()))?;
        registry.register(Box::new(read_replica_lag_seconds.clone()))?;
        registry.register(Box::new(read_replica_fallbacks.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            events,
            db_statements,
            read_replica_in_use,
            read_replica_lag_seconds,
            read_replica_fallbacks,
        })
    }

    pub fn event(&self, event: &str, outcome: &str) {
        self.events.with_label_values(&[event, outcome]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
