//! `keepalived-rs genhash` prints the same digest as keepalived's own `genhash` for the same URL.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

/// Serves `body` to `n` connections, HTTP/1.0 style (close after the body).
fn serve(body: &'static [u8], n: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req);
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    port
}

/// The URL both genhash commands are given: http://127.0.0.1:PORT/index.html.
fn url_args(port: u16) -> Vec<String> {
    [
        "-s",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-u",
        "/index.html",
    ]
    .map(str::to_string)
    .to_vec()
}

fn ours(port: u16) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("genhash")
        .args(url_args(port))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    last_digest(&s)
}

#[test]
fn digest_of_known_body() {
    let port = serve(b"hello world\n", 1);
    assert_eq!(ours(port), "6f5902ac237024bdd0c176cb93063dc4");
}

#[test]
fn same_digest_as_keepalived_genhash() {
    let Ok(path) = which("genhash") else {
        eprintln!("SKIP: keepalived's genhash is not installed (scripts/install-deps.sh installs keepalived)");
        return;
    };
    let port = serve(b"<html><body>keepalived-rs</body></html>\n", 2);
    let theirs = Command::new(path).args(url_args(port)).output().unwrap();
    let text = String::from_utf8_lossy(&theirs.stdout).to_string();
    let their_digest = last_digest(&text);
    assert_eq!(ours(port), their_digest);
}

/// keepalived 2.2.7 prints the bare digest (older versions prefixed `MD5SUM = `).
fn last_digest(out: &str) -> String {
    let line = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("no output"));
    let d = line.trim().trim_start_matches("MD5SUM = ").to_string();
    assert!(
        d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()),
        "not a digest: {out}"
    );
    d
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}
