//! OTLP export end to end: an in-test OTLP/HTTP receiver decodes what the daemon's trace
//! pipeline sends (protobuf `ExportTraceServiceRequest`) and checks names, attributes,
//! parent-child and links of transition spans.

use keepalived_rs::telemetry::otel::{Otel, OtelConfig, OtlpProtocol};
use keepalived_rs::telemetry::spans::{transition_span, Cause, TransitionKind};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Default)]
struct Received {
    /// (path, content-type, body) of every request.
    requests: Vec<(String, String, Vec<u8>)>,
    spans: Vec<Span>,
    resource: Vec<KeyValue>,
}

/// A minimal OTLP/HTTP receiver: keep-alive HTTP/1.1, Content-Length bodies, answers 200 with an
/// empty (valid) protobuf `ExportTraceServiceResponse`.
async fn receiver() -> (SocketAddr, Arc<Mutex<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Received::default()));
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let g = g.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Read one request head.
                    let end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("").to_string();
                    let header = |name: &str| {
                        head.lines()
                            .filter_map(|l| l.split_once(':'))
                            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.trim().to_string())
                    };
                    let len: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let ctype = header("content-type").unwrap_or_default();
                    while buf.len() < end + len {
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[end..end + len].to_vec();
                    buf.drain(..end + len);
                    {
                        let mut r = g.lock().unwrap();
                        if ctype.starts_with("application/x-protobuf") {
                            if let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice()) {
                                for rs in req.resource_spans {
                                    if let Some(res) = rs.resource {
                                        r.resource = res.attributes;
                                    }
                                    for ss in rs.scope_spans {
                                        r.spans.extend(ss.spans);
                                    }
                                }
                            }
                        }
                        r.requests.push((path, ctype.clone(), body));
                    }
                    let ct = if ctype.starts_with("application/json") {
                        "application/json"
                    } else {
                        "application/x-protobuf"
                    };
                    let resp_body: &[u8] = if ct == "application/json" { b"{}" } else { b"" };
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                        resp_body.len()
                    );
                    if s.write_all(resp.as_bytes()).await.is_err()
                        || s.write_all(resp_body).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, got)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn attr_str(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn attr_int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key)? {
        Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

fn config(addr: SocketAddr, protocol: OtlpProtocol) -> OtelConfig {
    // Built from variables (as the daemon does), but with an explicit lookup: no env races.
    let vars: HashMap<&str, String> = HashMap::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            match protocol {
                OtlpProtocol::HttpProtobuf => "http/protobuf".to_string(),
                OtlpProtocol::HttpJson => "http/json".to_string(),
            },
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test".to_string(),
        ),
    ]);
    let cfg = OtelConfig::from_vars(|k| vars.get(k).cloned())
        .unwrap()
        .expect("endpoint set: export on");
    assert_eq!(cfg.endpoint, format!("http://{addr}/v1/traces"));
    cfg
}

/// Script failure -> priority drop -> VRRP transition, plus a sync-group span linked to the
/// VRRP transition, all emitted from different "actors" (threads) via `Cause`.
fn emit_chain(otel: &Otel) {
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    tracing::subscriber::with_default(subscriber, || {
        let script = transition_span(TransitionKind::Script, "chk_haproxy")
            .from("GOOD")
            .to("BAD")
            .reason("exit_status");
        let cause = script.cause();
        assert!(cause.is_some(), "OTel layer present: cause has a context");
        drop(script);

        // The cause crosses a thread boundary like an actor message would.
        let cause2 = std::thread::scope(|s| s.spawn(move || cause).join().unwrap());
        let prio = transition_span(TransitionKind::VrrpPriority, "VI_1")
            .vrid(51)
            .interface("eth0")
            .from("100")
            .to("80")
            .reason("track_script")
            .priority(80)
            .caused_by(&cause2);
        let prio_cause = prio.cause();
        drop(prio);

        let vrrp = transition_span(TransitionKind::Vrrp, "VI_1")
            .vrid(51)
            .interface("eth0")
            .from("MASTER")
            .to("BACKUP")
            .reason("higher_priority")
            .priority(80)
            .caused_by(&prio_cause);
        let vrrp_cause = vrrp.cause();
        vrrp.in_scope(|| tracing::info!("VI_1 entering BACKUP STATE"));
        drop(vrrp);

        let group = transition_span(TransitionKind::SyncGroup, "G1")
            .from("MASTER")
            .to("BACKUP")
            .reason("member")
            .link(&vrrp_cause);
        drop(group);

        let reload = transition_span(TransitionKind::Reload, "/etc/keepalived/keepalived.conf")
            .reason("SIGHUP");
        reload.fail("line 3: unknown vrrp_instance");
        drop(reload);

        // No cause: a root span of its own trace.
        drop(
            transition_span(TransitionKind::Bfd, "bfd1")
                .from("Up")
                .to("Down"),
        );
        assert!(!Cause::none().is_some());
    });
}

#[test]
fn otlp_http_protobuf_spans_with_parent_and_links() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, got) = rt.block_on(receiver());
    let otel = Otel::new(&config(addr, OtlpProtocol::HttpProtobuf)).unwrap();

    emit_chain(&otel);
    otel.force_flush().unwrap();

    let r = got.lock().unwrap();
    assert!(!r.requests.is_empty(), "receiver got no request");
    for (path, ctype, _) in &r.requests {
        assert_eq!(path, "/v1/traces");
        assert!(ctype.starts_with("application/x-protobuf"), "{ctype}");
    }
    assert_eq!(
        attr_str(&r.resource, "service.name").as_deref(),
        Some("keepalived-rs")
    );
    assert_eq!(
        attr_str(&r.resource, "deployment.environment").as_deref(),
        Some("test")
    );

    let by_name = |n: &str| -> &Span {
        r.spans.iter().find(|s| s.name == n).unwrap_or_else(|| {
            panic!(
                "no span {n}: {:?}",
                r.spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
    };
    let script = by_name("script.transition");
    let prio = by_name("vrrp.priority");
    let vrrp = by_name("vrrp.transition");
    let group = by_name("sync_group.transition");
    let reload = by_name("reload");
    let bfd = by_name("bfd.transition");

    // Attributes.
    assert_eq!(attr_str(&vrrp.attributes, "kind").as_deref(), Some("vrrp"));
    assert_eq!(
        attr_str(&vrrp.attributes, "instance").as_deref(),
        Some("VI_1")
    );
    assert_eq!(attr_int(&vrrp.attributes, "vrid"), Some(51));
    assert_eq!(
        attr_str(&vrrp.attributes, "interface").as_deref(),
        Some("eth0")
    );
    assert_eq!(
        attr_str(&vrrp.attributes, "from").as_deref(),
        Some("MASTER")
    );
    assert_eq!(attr_str(&vrrp.attributes, "to").as_deref(), Some("BACKUP"));
    assert_eq!(
        attr_str(&vrrp.attributes, "reason").as_deref(),
        Some("higher_priority")
    );
    assert_eq!(attr_int(&vrrp.attributes, "priority"), Some(80));
    assert_eq!(
        attr_str(&script.attributes, "instance").as_deref(),
        Some("chk_haproxy")
    );
    assert!(
        vrrp.events
            .iter()
            .any(|e| e.name.contains("entering BACKUP")),
        "log line inside the span is a span event: {:?}",
        vrrp.events
    );

    // One trace: script -> priority -> vrrp, parent-child.
    assert_eq!(prio.trace_id, script.trace_id);
    assert_eq!(vrrp.trace_id, script.trace_id);
    assert_eq!(prio.parent_span_id, script.span_id);
    assert_eq!(vrrp.parent_span_id, prio.span_id);
    assert!(script.parent_span_id.is_empty(), "script span is the root");

    // Sync group: its own trace, linked to the VRRP transition.
    assert_ne!(group.trace_id, vrrp.trace_id);
    assert_eq!(group.links.len(), 1);
    assert_eq!(group.links[0].trace_id, vrrp.trace_id);
    assert_eq!(group.links[0].span_id, vrrp.span_id);

    // Failed reload: status ERROR with the message.
    let status = reload.status.as_ref().expect("status");
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert_eq!(status.message, "line 3: unknown vrrp_instance");

    // Unrelated span: its own root.
    assert!(bfd.parent_span_id.is_empty());
    assert_ne!(bfd.trace_id, script.trace_id);
    drop(r);

    otel.shutdown().unwrap();
    drop(rt);
}

#[test]
fn otlp_http_json_protocol() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, got) = rt.block_on(receiver());
    let otel = Otel::new(&config(addr, OtlpProtocol::HttpJson)).unwrap();
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    tracing::subscriber::with_default(subscriber, || {
        drop(
            transition_span(
                TransitionKind::Checker,
                "10.0.0.1:80/TCP/192.168.0.1:80/TCP_CHECK",
            )
            .from("up")
            .to("down")
            .reason("connect_timeout"),
        );
    });
    otel.shutdown().unwrap();
    let r = got.lock().unwrap();
    let (path, ctype, body) = r.requests.first().expect("a request");
    assert_eq!(path, "/v1/traces");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let body = String::from_utf8_lossy(body);
    assert!(body.contains("checker.transition"), "{body}");
    assert!(body.contains("connect_timeout"), "{body}");
}

#[test]
fn no_layer_means_no_cause_and_no_panic() {
    // Without the OpenTelemetry layer the helpers are inert.
    let span = transition_span(TransitionKind::Vrrp, "VI_1")
        .from("BACKUP")
        .to("MASTER")
        .caused_by(&Cause::none());
    assert!(!span.cause().is_some());
}

#[test]
fn exporter_down_does_not_block_forever() {
    // Nothing listens on this port: flush reports an error within the timeout, no panic, no hang.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = OtelConfig::new(format!("http://127.0.0.1:{port}/v1/traces"));
    cfg.timeout = Duration::from_millis(500);
    let otel = Otel::new(&cfg).unwrap();
    let subscriber = tracing_subscriber::registry().with(otel.layer());
    tracing::subscriber::with_default(subscriber, || {
        drop(transition_span(TransitionKind::Reload, "x"));
    });
    let t = std::time::Instant::now();
    let _ = otel.force_flush();
    let _ = otel.shutdown();
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}
