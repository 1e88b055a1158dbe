//! Prometheus metrics: request counts and latencies, plus counters the domains add.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Domain events by name (`checkout`, `payment_confirmed`, `mail_sent`, …) and outcome.
    pub events: IntCounterVec,
    /// SQL statements sent (`crate::db::statements`), read when the metrics are rendered.
    db_statements: IntCounter,
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
            "SQL statements sent to the database by this process (BEGIN and COMMIT not counted)",
        )?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(db_statements.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            events,
            db_statements,
        })
    }

    pub fn event(&self, event: &str, outcome: &str) {
        self.events.with_label_values(&[event, outcome]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let sent = crate::db::statements();
        self.db_statements
            .inc_by(sent.saturating_sub(self.db_statements.get()));
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
