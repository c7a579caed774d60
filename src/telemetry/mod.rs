//! Logging, traces and metrics.
//!
//! - [`logging`]: tracing subscriber (stderr, syslog) plus the OpenTelemetry layer.
//! - [`otel`]: OTLP trace export configured from the standard `OTEL_*` variables.
//! - [`spans`]: transition spans and the [`spans::Cause`] handle carried in actor messages.
//! - [`metrics`]: the Prometheus registry the actors record into.
//!
//! The `--metrics-listen` endpoint that serves the registry is [`crate::mgmt::http`].
//!
//! Daemon start-up: `let telemetry = telemetry::init(&log_opts)?;` then, with
//! `--metrics-listen`, `mgmt::http::MetricsServer::bind(addr, metrics.clone()).await?` inside the
//! runtime; on exit `telemetry.shutdown()` (blocking: flushes spans).

pub mod logging;
pub mod metrics;
pub mod otel;
pub mod spans;
pub mod systemd;

pub use metrics::{BfdState, CheckerMetrics, Metrics, RxDrop, VrrpMetrics, VrrpState};
pub use spans::{transition_span, Cause, TransitionKind, TransitionSpan};

/// What [`init`] set up; keep it until exit and call [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    otel: Option<otel::Otel>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.otel.is_some()
    }

    /// The trace pipeline, when exporting.
    pub fn otel(&self) -> Option<&otel::Otel> {
        self.otel.as_ref()
    }

    /// Flushes pending spans and stops the exporter. Blocking (up to the export timeout).
    pub fn shutdown(&self) {
        if let Some(o) = &self.otel {
            if let Err(e) = o.shutdown() {
                tracing::warn!(error = %e, "OpenTelemetry shutdown");
            }
        }
    }
}

/// Installs logging and, when `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` is set, OTLP trace export.
/// A bad `OTEL_*` value disables export with a warning; it never stops the daemon.
pub fn init(log: &logging::LogOptions) -> Result<Telemetry, String> {
    let (otel, problem) = match otel::OtelConfig::from_vars(|k| {
        std::env::var(k).ok().or_else(|| {
            // The daemon settings' endpoint, unless the standard variables name one.
            (k == "OTEL_EXPORTER_OTLP_ENDPOINT")
                .then(|| log.otlp_endpoint.clone())
                .flatten()
        })
    }) {
        Ok(None) => (None, None),
        Ok(Some(cfg)) => match otel::Otel::new(&cfg) {
            Ok(o) => (Some((o, cfg.endpoint)), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Err(e) => (None, Some(e.to_string())),
    };
    logging::init_with(log, otel.as_ref().map(|(o, _)| o))?;
    match (&otel, problem) {
        (Some((_, endpoint)), _) => tracing::info!(%endpoint, "exporting traces with OTLP"),
        (None, Some(p)) => tracing::warn!("OpenTelemetry export disabled: {p}"),
        (None, None) => {}
    }
    Ok(Telemetry {
        otel: otel.map(|(o, _)| o),
    })
}
