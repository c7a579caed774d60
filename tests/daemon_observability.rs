//! Observability of the running daemon, end to end: it exports OTLP spans (configured only by
//! OTEL_EXPORTER_OTLP_ENDPOINT) to a receiver, with a failing script -> priority drop ->
//! transition linked in one trace, and serves Prometheus metrics on --metrics-listen.

mod common;

use common::lab::{self, Lab};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// An OTLP/HTTP receiver in Python (runs inside the namespace): stores each POST body.
const RECEIVER: &str = r#"
import http.server, sys, os
d = sys.argv[1]; n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        n[0] += 1
        open(os.path.join(d, '%05d.%s' % (n[0], self.path.strip('/').replace('/', '_'))), 'wb').write(body)
        self.send_response(200); self.send_header('Content-Type', 'application/x-protobuf')
        self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[2])), H).serve_forever()
"#;

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            Some(any_value::Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}

fn spans(dir: &std::path::Path) -> Vec<Span> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().contains("v1_traces") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        if let Ok(req) = ExportTraceServiceRequest::decode(bytes.as_slice()) {
            for rs in req.resource_spans {
                for ss in rs.scope_spans {
                    out.extend(ss.spans);
                }
            }
        }
    }
    out
}

#[test]
fn spans_and_metrics_from_a_running_daemon() {
    let ka = lab::run(&["sh", "-c", "command -v keepalived && command -v python3"])
        .status
        .success();
    if !lab::can_run() || !ka {
        eprintln!("SKIP: needs root, iproute2, keepalived and python3");
        return;
    }
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let d = lab.dir.clone();
    let otlp_dir = d.join("otlp");
    std::fs::create_dir_all(&otlp_dir).unwrap();
    let flag = d.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let rx = lab.write("rx.py", RECEIVER);
    lab.spawn(
        1,
        "otlp",
        &[
            "python3",
            &rx.display().to_string(),
            &otlp_dir.display().to_string(),
            "4318",
        ],
    );

    let mut conf = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n    weight -60\n}}\n",
        flag.display()
    );
    conf.push_str(&lab::vrrp_conf(
        "",
        51,
        150,
        3,
        "0.1",
        &[format!("{vip}/24")],
        "    track_script {\n        chk\n    }\n",
    ));
    let c1 = lab.write("h1.conf", &conf);
    let c2 = lab.write(
        "h2.conf",
        &lab::vrrp_conf("", 51, 100, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    // Wait for the receiver to listen before the daemon starts exporting.
    assert!(lab.wait_for(Duration::from_secs(5), || {
        lab.exec(
            1,
            &[
                "python3",
                "-c",
                "import socket; socket.create_connection(('127.0.0.1', 4318), 1)",
            ],
        )
        .status
        .success()
    }));
    lab.start_rs_with(
        1,
        "ours",
        &[
            "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318",
            "OTEL_SERVICE_NAME=ka-test",
        ],
        OURS,
        &["-n", "-l", "-G", "--metrics-listen", "127.0.0.1:9650"],
        &c1,
    );
    // Ours becomes MASTER on its own (its down timer) before keepalived starts, so the reason
    // below does not depend on which daemon started faster.
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![1]),
        "{}",
        lab.log("ours")
    );
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab
            .log("ka")
            .contains("Entering BACKUP STATE")),
        "{}",
        lab.log("ka")
    );
    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "{}",
        lab.log("ours")
    );

    // Prometheus text from the running daemon.
    let scrape = lab.exec(1, &["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9650/metrics').read().decode())"]);
    let text = String::from_utf8_lossy(&scrape.stdout).to_string();
    let state_line = text
        .lines()
        .find(|l| l.starts_with("keepalived_vrrp_state{") && l.contains("iname=\"VI_51\""));
    assert!(
        state_line.is_some_and(|l| l.trim_end().ends_with(" 1")),
        "state not BACKUP(1):\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("keepalived_vrrp_transitions_total")
                && l.contains("to=\"MASTER\"")),
        "{text}"
    );
    assert!(
        text.contains("keepalived_vrrp_advertisements_sent_total")
            || text.contains("keepalived_vrrp_adverts_sent"),
        "{text}"
    );
    // The failing vrrp_script, as keepalived-exporter reports it: BAD (0), idle, runs counted.
    assert!(
        text.lines()
            .any(|l| l.trim_end() == "keepalived_script_status{name=\"chk\"} 0"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("keepalived_script_runs_total{")
                && l.contains("result=\"failure\"")),
        "{text}"
    );

    // Stop: the exporter flushes on exit.
    lab.signal("ours", libc::SIGTERM);
    assert!(
        lab.wait_exit("ours", Duration::from_secs(10)).is_some(),
        "daemon did not stop"
    );
    let got = spans(&otlp_dir);
    let named = |n: &str| got.iter().filter(|s| s.name == n).collect::<Vec<_>>();
    let to_master = named("vrrp.transition")
        .into_iter()
        .find(|s| attr(&s.attributes, "to").as_deref() == Some("MASTER"))
        .unwrap_or_else(|| panic!("no vrrp.transition to MASTER among {} spans", got.len()));
    assert_eq!(
        attr(&to_master.attributes, "instance").as_deref(),
        Some("VI_51")
    );
    assert_eq!(attr(&to_master.attributes, "vrid").as_deref(), Some("51"));
    assert_eq!(
        attr(&to_master.attributes, "reason").as_deref(),
        Some("master_down_timer")
    );
    // The causal chain: script failed -> priority 150 -> 90 -> MASTER -> BACKUP, one trace.
    let script = named("script.transition")
        .into_iter()
        .find(|s| attr(&s.attributes, "to").as_deref() == Some("FAILED"))
        .expect("script failure span");
    let prio = named("vrrp.priority")
        .into_iter()
        .find(|s| s.trace_id == script.trace_id)
        .expect("priority span in the script's trace");
    assert_eq!(prio.parent_span_id, script.span_id);
    assert_eq!(attr(&prio.attributes, "to").as_deref(), Some("90"));
    let to_backup = named("vrrp.transition")
        .into_iter()
        .find(|s| {
            s.trace_id == script.trace_id && attr(&s.attributes, "to").as_deref() == Some("BACKUP")
        })
        .expect("transition to BACKUP in the same trace");
    assert_eq!(to_backup.parent_span_id, prio.span_id);
    assert_eq!(
        attr(&to_backup.attributes, "reason").as_deref(),
        Some("higher_priority_advert")
    );
}
