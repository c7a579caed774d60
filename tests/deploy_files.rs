//! The container recipe and the Kubernetes example (`deploy/`) hang together: the DaemonSet
//! runs on the host network with the capabilities VRRP needs, mounts the ConfigMap as a whole
//! directory (so the kubelet's `..data` swap reaches the daemon's file watch; a subPath mount
//! never sees updates) where `--use-file` points, the ConfigMap's keepalived.conf passes
//! `keepalived-rs -t`, the metrics Service and ServiceMonitor reach `--metrics-listen`, and the
//! image needs no shell (distroless, exec-form entrypoint) with its pid file where the liveness
//! probe's `--status` looks.

use std::path::PathBuf;
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn docs() -> Vec<Yaml> {
    let text = std::fs::read_to_string(root().join("deploy/kubernetes/keepalived-rs.yaml"))
        .expect("deploy/kubernetes/keepalived-rs.yaml");
    YamlLoader::load_from_str(&text).expect("valid YAML")
}

fn kind<'a>(docs: &'a [Yaml], k: &str) -> &'a Yaml {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(k))
        .unwrap_or_else(|| panic!("no {k} in the example"))
}

fn strs(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn after<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn kubernetes_example_is_consistent_and_its_config_is_valid() {
    let docs = docs();
    let ds = kind(&docs, "DaemonSet");
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(
        spec["hostNetwork"].as_bool(),
        Some(true),
        "VRRP needs the host network"
    );
    let c = &spec["containers"][0];
    let caps = strs(&c["securityContext"]["capabilities"]["add"]);
    for cap in ["NET_ADMIN", "NET_RAW", "NET_BROADCAST"] {
        assert!(
            caps.iter().any(|x| x == cap),
            "capability {cap} missing: {caps:?}"
        );
    }
    let args = strs(&c["args"]);
    let conf = after(&args, "--use-file").expect("--use-file in args");
    let conf_dir = conf
        .rsplit_once('/')
        .map(|(d, _)| d)
        .expect("absolute path");
    let conf_name = conf.rsplit('/').next().expect("file name");

    // The ConfigMap volume is mounted as a directory at the config's directory.
    let mounts = c["volumeMounts"].as_vec().expect("volumeMounts");
    let mount = mounts
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(conf_dir))
        .expect("a mount at the configuration's directory");
    assert!(
        mount["subPath"].is_badvalue(),
        "subPath mounts never see ConfigMap updates"
    );
    let vol_name = mount["name"].as_str().expect("mount name");
    let vol = spec["volumes"]
        .as_vec()
        .expect("volumes")
        .iter()
        .find(|v| v["name"].as_str() == Some(vol_name))
        .expect("the mounted volume");
    let cm_name = vol["configMap"]["name"]
        .as_str()
        .expect("a configMap volume");
    let cm = docs
        .iter()
        .find(|d| {
            d["kind"].as_str() == Some("ConfigMap")
                && d["metadata"]["name"].as_str() == Some(cm_name)
        })
        .expect("the ConfigMap the volume names");
    let text = cm["data"][conf_name]
        .as_str()
        .expect("the ConfigMap holds the config file");

    // keepalived-rs -t accepts it.
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join(conf_name);
    std::fs::write(&f, text).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("-t")
        .arg("-f")
        .arg(&f)
        .output()
        .expect("run keepalived-rs -t");
    assert!(
        out.status.success(),
        "keepalived-rs -t on the ConfigMap's file: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Metrics: the Service's target port is the container port of --metrics-listen, and the
    // ServiceMonitor selects the Service and scrapes /metrics on that port.
    let listen = after(&args, "--metrics-listen").expect("--metrics-listen in args");
    let port: i64 = listen
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let cport = c["ports"]
        .as_vec()
        .expect("ports")
        .iter()
        .find(|p| p["containerPort"].as_i64() == Some(port))
        .expect("the metrics port is a container port");
    let pname = cport["name"].as_str().expect("named port");
    let svc = kind(&docs, "Service");
    let sport = &svc["spec"]["ports"][0];
    assert_eq!(sport["targetPort"].as_str(), Some(pname));
    let sm = kind(&docs, "ServiceMonitor");
    let sel = &sm["spec"]["selector"]["matchLabels"];
    let labels = &svc["metadata"]["labels"];
    for (k, v) in sel.as_hash().expect("matchLabels") {
        assert_eq!(
            &labels[k.as_str().expect("label key")],
            v,
            "ServiceMonitor selects the Service"
        );
    }
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["port"].as_str(), sport["name"].as_str());
    assert_eq!(ep["path"].as_str(), Some("/metrics"));

    // The liveness probe asks the daemon over the control socket next to the image's pid file.
    let probe = strs(&c["livenessProbe"]["exec"]["command"]);
    let pid = after(&probe, "--pid").expect("--pid in the probe");
    assert!(probe.iter().any(|a| a == "--status"));
    let pid_dir = pid.rsplit_once('/').map(|(d, _)| d).expect("pid dir");
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"].as_str() == Some(pid_dir)),
        "the pid file's directory {pid_dir} is a writable volume"
    );
    let cf = std::fs::read_to_string(root().join("deploy/container/Containerfile"))
        .expect("Containerfile");
    assert!(
        cf.contains(&format!("\"{pid}\"")),
        "the image's --pid is the probe's {pid}"
    );
}

#[test]
fn image_needs_no_shell() {
    let cf = std::fs::read_to_string(root().join("deploy/container/Containerfile"))
        .expect("Containerfile");
    let last_from = cf
        .lines()
        .rfind(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    assert!(
        last_from.contains("distroless"),
        "final stage is distroless: {last_from}"
    );
    let entry = cf
        .lines()
        .find(|l| l.starts_with("ENTRYPOINT"))
        .expect("ENTRYPOINT");
    assert!(
        entry.contains("[\"/usr/sbin/keepalived-rs\""),
        "exec-form entrypoint: {entry}"
    );
    assert!(cf.contains("--dont-fork") && cf.contains("--log-console"));
}
