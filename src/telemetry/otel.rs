//! OpenTelemetry traces exported with OTLP.
//!
//! Export is on only when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set (and `OTEL_SDK_DISABLED` is not `true`). [`OtelConfig::from_env`] reads the standard
//! variables into an explicit [`OtelConfig`]; [`Otel::new`] builds the exporter from that struct
//! only, so tests (and a future settings file) need no environment.
//!
//! Transport: OTLP over HTTP with the blocking reqwest client, run by the SDK's batch span
//! processor on its own thread (no tokio runtime required, nothing blocks an actor).
//! `http/protobuf` (default) and `http/json` are supported; `grpc` is rejected with a clear
//! error (point `OTEL_EXPORTER_OTLP_ENDPOINT` at port 4318 instead of 4317).
//!
//! Standard variables honoured: `OTEL_EXPORTER_OTLP_{,TRACES_}ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_{,TRACES_}PROTOCOL`, `OTEL_EXPORTER_OTLP_{,TRACES_}HEADERS`,
//! `OTEL_EXPORTER_OTLP_{,TRACES_}TIMEOUT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_SDK_DISABLED`, `OTEL_BSP_SCHEDULE_DELAY`, and (read by the SDK itself)
//! `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_SPAN_*_LIMIT`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use std::collections::HashMap;
use std::time::Duration;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, Filtered};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Default `service.name`.
pub const DEFAULT_SERVICE_NAME: &str = "keepalived-rs";

/// Targets whose spans and events never reach the OpenTelemetry layer (the exporter's own
/// HTTP stack would otherwise trace its own exports).
pub const EXCLUDED_TARGETS: &[&str] = &[
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "tower",
    "tonic",
    "want",
    "mio",
    "tokio",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
];

/// OTLP wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf` (default).
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

/// Errors from configuration or exporter construction.
#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    /// A variable has an unusable value.
    #[error("{var}: {msg}")]
    Config {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// The exporter could not be built.
    #[error("OTLP exporter: {0}")]
    Build(String),
    /// Flush or shutdown failed.
    #[error("OTLP flush: {0}")]
    Flush(String),
}

/// Everything needed to build the trace pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct OtelConfig {
    /// Full traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    /// Wire protocol.
    pub protocol: OtlpProtocol,
    /// `service.name` resource attribute.
    pub service_name: String,
    /// Other resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
    pub resource_attributes: Vec<(String, String)>,
    /// Extra HTTP headers (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. authentication.
    pub headers: Vec<(String, String)>,
    /// Export request timeout.
    pub timeout: Duration,
    /// Batch processor delay between exports.
    pub batch_delay: Duration,
}

impl OtelConfig {
    /// A configuration exporting to `traces_endpoint` (the full `/v1/traces` URL) with defaults.
    pub fn new(traces_endpoint: impl Into<String>) -> Self {
        OtelConfig {
            endpoint: traces_endpoint.into(),
            protocol: OtlpProtocol::HttpProtobuf,
            service_name: DEFAULT_SERVICE_NAME.to_string(),
            resource_attributes: Vec::new(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            batch_delay: Duration::from_secs(5),
        }
    }

    /// Reads the process environment. `Ok(None)`: export is off.
    pub fn from_env() -> Result<Option<Self>, OtelError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Same as [`from_env`](Self::from_env) with an explicit variable lookup.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, OtelError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        let (proto_var, proto) = match var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
            Some(p) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Some(p)),
            None => (
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                var("OTEL_EXPORTER_OTLP_PROTOCOL"),
            ),
        };
        let protocol = match proto.as_deref() {
            None | Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
            Some("http/json") => OtlpProtocol::HttpJson,
            Some("grpc") => {
                return Err(OtelError::Config {
                    var: proto_var,
                    msg: "grpc is not supported by this build; use http/protobuf \
                          (OTLP/HTTP, port 4318 on Jaeger and the OpenTelemetry Collector)"
                        .into(),
                })
            }
            Some(other) => {
                return Err(OtelError::Config {
                    var: proto_var,
                    msg: format!("unknown protocol '{other}' (http/protobuf, http/json)"),
                })
            }
        };
        let endpoint = if let Some(e) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            check_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &e)?;
            e
        } else if let Some(e) = var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            check_url("OTEL_EXPORTER_OTLP_ENDPOINT", &e)?;
            format!("{}/v1/traces", e.trim_end_matches('/'))
        } else {
            return Ok(None);
        };
        let mut cfg = OtelConfig::new(endpoint);
        cfg.protocol = protocol;
        if let Some(attrs) = var("OTEL_RESOURCE_ATTRIBUTES") {
            cfg.resource_attributes = parse_key_values(&attrs);
        }
        if let Some(name) = var("OTEL_SERVICE_NAME") {
            cfg.service_name = name;
        } else if let Some((_, v)) = cfg
            .resource_attributes
            .iter()
            .find(|(k, _)| k == "service.name")
        {
            cfg.service_name = v.clone();
        }
        cfg.resource_attributes.retain(|(k, _)| k != "service.name");
        if let Some(h) =
            var("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
        {
            cfg.headers = parse_key_values(&h);
        }
        for t in [
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ] {
            if let Some(v) = var(t) {
                cfg.timeout = parse_millis(t, &v)?;
                break;
            }
        }
        if let Some(v) = var("OTEL_BSP_SCHEDULE_DELAY") {
            cfg.batch_delay = parse_millis("OTEL_BSP_SCHEDULE_DELAY", &v)?;
        }
        Ok(Some(cfg))
    }
}

fn check_url(var: &'static str, url: &str) -> Result<(), OtelError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        if url.starts_with("https://") {
            // The build has no TLS stack for the exporter: say so now rather than fail each export.
            return Err(OtelError::Config {
                var,
                msg: "https endpoints need TLS, which this build's OTLP exporter lacks; \
                      export to a local collector over http"
                    .into(),
            });
        }
        Ok(())
    } else {
        Err(OtelError::Config {
            var,
            msg: format!("'{url}' is not an http:// URL"),
        })
    }
}

fn parse_millis(var: &'static str, v: &str) -> Result<Duration, OtelError> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| OtelError::Config {
            var,
            msg: format!("'{v}' is not a number of milliseconds"),
        })
}

/// Parses the W3C-baggage-like `k1=v1,k2=v2` lists of `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` (values percent-decoded; malformed members skipped).
pub fn parse_key_values(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let k = k.trim();
            if k.is_empty() {
                return None;
            }
            Some((k.to_string(), percent_decode(v.trim())))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The trace pipeline: tracer provider with a batch processor and an OTLP/HTTP exporter.
#[derive(Debug)]
pub struct Otel {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Otel {
    /// Builds the exporter and the provider from `cfg` (no environment is read here except the
    /// SDK's own sampler/limit variables).
    pub fn new(cfg: &OtelConfig) -> Result<Otel, OtelError> {
        let protocol = match cfg.protocol {
            OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
            OtlpProtocol::HttpJson => Protocol::HttpJson,
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(cfg.endpoint.clone())
            .with_protocol(protocol)
            .with_timeout(cfg.timeout)
            .with_headers(cfg.headers.iter().cloned().collect::<HashMap<_, _>>())
            .build()
            .map_err(|e| OtelError::Build(e.to_string()))?;

        let mut attrs: Vec<KeyValue> =
            vec![KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))];
        if !cfg
            .resource_attributes
            .iter()
            .any(|(k, _)| k == "host.name")
        {
            if let Some(h) = crate::sys::hostname() {
                attrs.push(KeyValue::new("host.name", h));
            }
        }
        attrs.extend(
            cfg.resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        let resource = Resource::builder_empty()
            .with_detector(Box::new(TelemetryResourceDetector))
            .with_attributes(attrs)
            .with_service_name(cfg.service_name.clone())
            .build();

        let batch = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_scheduled_delay(cfg.batch_delay)
                    .build(),
            )
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(batch)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("keepalived-rs");
        Ok(Otel { provider, tracer })
    }

    /// The tracing layer feeding this pipeline: INFO and above, without the HTTP stack's spans.
    pub fn layer<S>(&self) -> Filtered<OtelLayer<S>, OtelFilter, S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(filter_fn(otel_enabled as fn(&Metadata<'_>) -> bool))
    }

    /// The SDK provider (to install globally or create more tracers).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// Exports every finished span now. Blocks until the exporter answered (or timed out):
    /// call it from a blocking context, not from an actor's handler.
    pub fn force_flush(&self) -> Result<(), OtelError> {
        self.provider
            .force_flush()
            .map_err(|e| OtelError::Flush(e.to_string()))
    }

    /// Flushes and stops the pipeline (on daemon exit). Blocking, like [`force_flush`](Self::force_flush).
    pub fn shutdown(&self) -> Result<(), OtelError> {
        self.provider
            .shutdown()
            .map_err(|e| OtelError::Flush(e.to_string()))
    }
}

/// The OpenTelemetry layer type returned (inside a filter) by [`Otel::layer`].
pub type OtelLayer<S> = tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>;
/// The filter of [`Otel::layer`].
pub type OtelFilter = tracing_subscriber::filter::FilterFn<fn(&Metadata<'_>) -> bool>;

/// Whether a span/event goes to OpenTelemetry: INFO or more severe, not from the HTTP stack.
pub fn otel_enabled(meta: &Metadata<'_>) -> bool {
    if *meta.level() > tracing::Level::INFO {
        return false;
    }
    let target = meta.target();
    !EXCLUDED_TARGETS.iter().any(|p| {
        target
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn off_without_endpoint() {
        assert_eq!(OtelConfig::from_vars(vars(&[])).unwrap(), None);
        assert_eq!(
            OtelConfig::from_vars(vars(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ]))
            .unwrap(),
            None
        );
    }

    #[test]
    fn generic_endpoint_gets_signal_path() {
        let c = OtelConfig::from_vars(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.endpoint, "http://c:4318/v1/traces");
        assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.service_name, "keepalived-rs");
    }

    #[test]
    fn traces_endpoint_used_as_is_and_wins() {
        let c = OtelConfig::from_vars(vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9999/custom"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_SERVICE_NAME", "lb1"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,service.name=x,team=net%20ops",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.endpoint, "http://t:9999/custom");
        assert_eq!(c.protocol, OtlpProtocol::HttpJson);
        assert_eq!(c.service_name, "lb1");
        assert_eq!(
            c.resource_attributes,
            vec![
                ("deployment.environment".into(), "prod".into()),
                ("team".into(), "net ops".into())
            ]
        );
        assert_eq!(
            c.headers,
            vec![("authorization".into(), "Bearer abc".into())]
        );
        assert_eq!(c.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn service_name_from_resource_attributes() {
        let c = OtelConfig::from_vars(vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=edge"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.service_name, "edge");
        assert!(c.resource_attributes.is_empty());
    }

    #[test]
    fn bad_values_are_errors() {
        for list in [
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ][..],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "carrier-pigeon"),
            ][..],
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318")][..],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            ][..],
        ] {
            assert!(OtelConfig::from_vars(vars(list)).is_err(), "{list:?}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn filter_excludes_http_stack() {
        use tracing::callsite::Identifier;
        struct Cs;
        impl tracing::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unimplemented!()
            }
        }
        static CS: Cs = Cs;
        let meta = |target: &'static str, level| {
            Metadata::new(
                "s",
                target,
                level,
                None,
                None,
                None,
                tracing::field::FieldSet::new(&[], Identifier(&CS)),
                tracing::metadata::Kind::SPAN,
            )
        };
        assert!(otel_enabled(&meta(
            "keepalived_rs::vrrp",
            tracing::Level::INFO
        )));
        assert!(otel_enabled(&meta("h2o", tracing::Level::INFO)));
        assert!(!otel_enabled(&meta(
            "keepalived_rs::vrrp",
            tracing::Level::DEBUG
        )));
        assert!(!otel_enabled(&meta("hyper", tracing::Level::INFO)));
        assert!(!otel_enabled(&meta(
            "hyper_util::client",
            tracing::Level::INFO
        )));
        assert!(!otel_enabled(&meta(
            "reqwest::blocking",
            tracing::Level::WARN
        )));
        assert!(!otel_enabled(&meta("h2::codec", tracing::Level::ERROR)));
    }
}
