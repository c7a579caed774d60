//! `smtp_alert`: e-mails on VRRP instance and sync-group transitions, sent through the global
//! `smtp_server` as keepalived does (`core/smtp.c`, `vrrp/vrrp_notify.c`).
//!
//! Pure builders give keepalived's subject, body, envelope and message text; [`send`] speaks
//! the same dialogue (greeting 220, `HELO`, `MAIL FROM`, one `RCPT TO` per address, `DATA`,
//! message, `QUIT`), each step bounded by `smtp_connect_timeout` (keepalived's read/connect
//! timeout per step). [`SmtpAlerter`] sends e-mails one after the other on a background task:
//! callers never wait; a full queue or a failed delivery is logged, never retried.
//!
//! Whether an object sends e-mails: its own `smtp_alert`, else `smtp_alert_vrrp`, else
//! `smtp_alert` in `global_defs`, else no. Nothing is sent without an `smtp_server` and at
//! least one `notification_email`. `no_email_faults` suppresses FAULT e-mails.

use crate::config::model::GlobalDefs;
use crate::track::notify::{NotifyState, NotifyTarget};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// E-mails waiting for the sender task; more are dropped (and logged).
const QUEUE: usize = 64;

/// Longest reply line accepted from the server.
const MAX_LINE: usize = 4096;

/// The global settings e-mails are sent with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpConfig {
    /// `smtp_server` host (address or name).
    pub host: String,
    /// `smtp_server` port (default 25).
    pub port: u16,
    /// `smtp_helo_name` (default: the host name).
    pub helo_name: String,
    /// `notification_email_from` (default: `user@hostname`).
    pub from: String,
    /// `notification_email { ... }`.
    pub to: Vec<String>,
    /// `smtp_connect_timeout` (default 30 s), per dialogue step.
    pub timeout: Duration,
    /// `router_id` (default: the host name), in every subject.
    pub router_id: String,
    /// `no_email_faults`.
    pub no_email_faults: bool,
}

impl SmtpConfig {
    /// The settings of `global_defs`; `None` when there is no `smtp_server` or no
    /// `notification_email` (keepalived then sends nothing).
    pub fn from_global(g: &GlobalDefs) -> Option<Self> {
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        let host = local_name();
        Some(SmtpConfig {
            host: server.host.clone(),
            port: server.port,
            helo_name: g.smtp_helo_name.clone().unwrap_or_else(|| host.clone()),
            from: g.notification_email_from.clone().unwrap_or_else(|| {
                format!(
                    "{}@{host}",
                    current_user().unwrap_or_else(|| "root".to_string())
                )
            }),
            to: g.notification_email.clone(),
            timeout: if g.smtp_connect_timeout.is_zero() {
                Duration::from_secs(30)
            } else {
                g.smtp_connect_timeout
            },
            router_id: g.router_id.clone().unwrap_or(host),
            no_email_faults: g.no_email_faults,
        })
    }
}

/// Whether an instance or sync group with its own `smtp_alert` setting `own` sends e-mails.
pub fn smtp_alert_enabled(own: Option<bool>, g: &GlobalDefs) -> bool {
    own.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
}

/// One e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

/// keepalived's e-mail for `name` entering `state`: subject
/// `[router_id] VRRP Instance VI_1 - Entering MASTER state` (or `VRRP Group G1 - ...`).
pub fn vrrp_email(router_id: &str, target: NotifyTarget, name: &str, state: NotifyState) -> Email {
    let what = match state {
        NotifyState::Master => "Entering MASTER state",
        NotifyState::Backup => "Entering BACKUP state",
        NotifyState::Fault => "Entering FAULT state",
        NotifyState::Stop => "Stopping",
        NotifyState::Deleted => "Deleted",
    };
    let body = match (target, state) {
        (NotifyTarget::Instance, NotifyState::Master) => {
            "=> VRRP Instance is now owning VRRP VIPs <="
        }
        (NotifyTarget::Instance, NotifyState::Backup | NotifyState::Fault) => {
            "=> VRRP Instance is no longer owning VRRP VIPs <="
        }
        (NotifyTarget::Instance, NotifyState::Stop) => "=> VRRP Instance stopping <=",
        (NotifyTarget::Instance, NotifyState::Deleted) => "=> VRRP Deleted at reload <=",
        (NotifyTarget::Group, NotifyState::Master) => {
            "=> All VRRP group instances are now in MASTER state <="
        }
        (NotifyTarget::Group, NotifyState::Backup) => {
            "=> All VRRP group instances are now in BACKUP state <="
        }
        (NotifyTarget::Group, NotifyState::Fault) => {
            "=> All VRRP group instances are now in FAULT state <="
        }
        (NotifyTarget::Group, NotifyState::Stop | NotifyState::Deleted) => {
            "=> All VRRP group instances are now stopping <="
        }
    };
    let kind = match target {
        NotifyTarget::Instance => "Instance",
        NotifyTarget::Group => "Group",
    };
    Email {
        subject: format!("[{router_id}] VRRP {kind} {name} - {what}"),
        body: body.to_string(),
    }
}

/// The envelope form of an address: `Name <a@b>` → `<a@b>`, `a@b` → `<a@b>`.
pub fn envelope_addr(addr: &str) -> String {
    let a = addr.trim();
    match (a.ends_with('>'), a.rfind('<')) {
        (true, Some(start)) => a[start..].to_string(),
        _ => format!("<{a}>"),
    }
}

/// The text sent after `DATA`: keepalived's headers, the body, and the final `.` line
/// (lines of the body starting with `.` are dot-stuffed).
pub fn message(cfg: &SmtpConfig, email: &Email, date: &str) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let mut m = format!(
        "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo:",
        clean(&cfg.from),
        clean(&email.subject)
    );
    for (k, to) in cfg.to.iter().enumerate() {
        m.push_str(if k == 0 { " " } else { ",\r\n " });
        m.push_str(&clean(to));
    }
    m.push_str("\r\n\r\n");
    for line in email.body.lines() {
        if line.starts_with('.') {
            m.push('.');
        }
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.push_str("\r\n.\r\n");
    m
}

/// Now, as RFC 5322 wants it (`Mon, 01 Mar 2021 09:44:08 +0000`), local time.
pub fn rfc5322_now() -> String {
    match crate::sys::time::local(crate::sys::time::now_secs()) {
        Some(tm) => crate::sys::time::format(&tm, c"%a, %d %b %Y %H:%M:%S %z"),
        None => String::new(),
    }
}

/// Why an e-mail was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// Name resolution or connection failed.
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    /// A step took longer than `smtp_connect_timeout`.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The server answered a step with an unexpected code.
    #[error("{step} answered {code}, expected {expected}")]
    Rejected {
        /// The step (`greeting`, `HELO`, `MAIL`, `RCPT`, `DATA`, `message`).
        step: &'static str,
        /// The code received.
        code: u16,
        /// The code expected.
        expected: u16,
    },
    /// The connection broke or the server sent garbage.
    #[error("{0}")]
    Protocol(String),
}

/// Reads one (possibly multi-line `250-...`) reply and returns its code.
async fn reply<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Result<u16, SmtpError> {
    loop {
        let mut line = Vec::new();
        let n = r
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| SmtpError::Protocol(e.to_string()))?;
        if n == 0 {
            return Err(SmtpError::Protocol(
                "connection closed by the server".into(),
            ));
        }
        if line.len() > MAX_LINE {
            return Err(SmtpError::Protocol("reply line too long".into()));
        }
        let code = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                SmtpError::Protocol(format!(
                    "bad reply {:?}",
                    String::from_utf8_lossy(&line).trim_end()
                ))
            })?;
        if line.get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
}

/// Sends `email` to every `notification_email` through the server; each step (resolve,
/// connect, every reply) is bounded by `cfg.timeout`.
pub async fn send(cfg: &SmtpConfig, email: &Email) -> Result<(), SmtpError> {
    let t = cfg.timeout;
    let server = format!("{}:{}", cfg.host, cfg.port);
    let addrs: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(t, tokio::net::lookup_host((cfg.host.as_str(), cfg.port))).await
        {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => return Err(SmtpError::Connect(server, e.to_string())),
            Err(_) => return Err(SmtpError::Timeout("name resolution")),
        };
    let mut stream = None;
    let mut last = String::from("no address");
    for a in addrs {
        match tokio::time::timeout(t, TcpStream::connect(a)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "connection timed out".into(),
        }
    }
    let stream = stream.ok_or(SmtpError::Connect(server, last))?;
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd.take(1 << 20));

    // (command, step name, expected code); the greeting has no command.
    let mut steps: Vec<(String, &'static str, u16)> = vec![
        (String::new(), "greeting", 220),
        (format!("HELO {}\r\n", cfg.helo_name), "HELO", 250),
        (
            format!("MAIL FROM:{}\r\n", envelope_addr(&cfg.from)),
            "MAIL",
            250,
        ),
    ];
    for to in &cfg.to {
        steps.push((format!("RCPT TO:{}\r\n", envelope_addr(to)), "RCPT", 250));
    }
    steps.push(("DATA\r\n".into(), "DATA", 354));
    steps.push((message(cfg, email, &rfc5322_now()), "message", 250));

    let mut outcome = Ok(());
    for (cmd, step, expected) in steps {
        if !cmd.is_empty() {
            match tokio::time::timeout(t, wr.write_all(cmd.as_bytes())).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(SmtpError::Protocol(e.to_string())),
                Err(_) => {
                    outcome = Err(SmtpError::Timeout(step));
                    break;
                }
            }
        }
        match tokio::time::timeout(t, reply(&mut rd)).await {
            Ok(Ok(code)) if code == expected => {}
            Ok(Ok(code)) => {
                outcome = Err(SmtpError::Rejected {
                    step,
                    code,
                    expected,
                });
                break;
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                outcome = Err(SmtpError::Timeout(step));
                break;
            }
        }
    }
    // QUIT in every case (as keepalived); its answer does not change the outcome.
    if tokio::time::timeout(t, wr.write_all(b"QUIT\r\n"))
        .await
        .is_ok()
    {
        let _ = tokio::time::timeout(t, reply(&mut rd)).await;
    }
    outcome
}

/// Sends e-mails one at a time on a background task.
#[derive(Clone, Debug)]
pub struct SmtpAlerter {
    cfg: Arc<SmtpConfig>,
    tx: mpsc::Sender<Email>,
    /// Last state e-mailed per object (keepalived's `last_email_state`): no repeats.
    last: Arc<Mutex<HashMap<(NotifyTarget, String), NotifyState>>>,
}

impl SmtpAlerter {
    /// Starts the sender task on the current tokio runtime.
    pub fn spawn(cfg: SmtpConfig) -> Self {
        let cfg = Arc::new(cfg);
        let (tx, mut rx) = mpsc::channel::<Email>(QUEUE);
        let c = cfg.clone();
        tokio::spawn(async move {
            while let Some(email) = rx.recv().await {
                match send(&c, &email).await {
                    Ok(()) => tracing::info!(
                        "SMTP alert sent to {}:{}: {}",
                        c.host,
                        c.port,
                        email.subject
                    ),
                    Err(e) => tracing::warn!(
                        "SMTP alert {:?} not sent to {}:{}: {e}",
                        email.subject,
                        c.host,
                        c.port
                    ),
                }
            }
        });
        SmtpAlerter {
            cfg,
            tx,
            last: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SmtpConfig {
        &self.cfg
    }

    /// Whether `name` entering `state` gets an e-mail (and remember it did).
    fn admit(&self, target: NotifyTarget, name: &str, state: NotifyState) -> bool {
        if state == NotifyState::Fault && self.cfg.no_email_faults {
            return false;
        }
        match self.last.lock() {
            Ok(mut last) => last.insert((target, name.to_string()), state) != Some(state),
            Err(_) => true,
        }
    }

    /// Queues the e-mail for `name` entering `state` (not twice in a row for one state; no
    /// FAULT e-mail with `no_email_faults`). Never blocks.
    pub fn alert(&self, target: NotifyTarget, name: &str, state: NotifyState) {
        if !self.admit(target, name, state) {
            return;
        }
        let email = vrrp_email(&self.cfg.router_id, target, name, state);
        if self.tx.try_send(email).is_err() {
            tracing::warn!(
                "SMTP alert queue full: e-mail for {name} ({}) dropped",
                state.as_str()
            );
        }
    }
}

/// The host name (keepalived's default `router_id`, HELO name and sender domain).
pub fn local_name() -> String {
    crate::sys::hostname().unwrap_or_else(|| "localhost".to_string())
}

fn current_user() -> Option<String> {
    crate::track::exec::current_user_name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    fn cfg(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            helo_name: "lb1.example".into(),
            from: "Keepalived <ka@example.com>".into(),
            to: vec![
                "ops@example.com".into(),
                "Oncall <pager@example.com>".into(),
            ],
            timeout: Duration::from_secs(2),
            router_id: "lb1".into(),
            no_email_faults: false,
        }
    }

    #[test]
    fn subjects_and_bodies_are_keepalived_s() {
        let e = vrrp_email("lb1", NotifyTarget::Instance, "VI_1", NotifyState::Master);
        assert_eq!(
            e.subject,
            "[lb1] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(e.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        let e = vrrp_email("lb1", NotifyTarget::Group, "G1", NotifyState::Backup);
        assert_eq!(e.subject, "[lb1] VRRP Group G1 - Entering BACKUP state");
        assert_eq!(
            e.body,
            "=> All VRRP group instances are now in BACKUP state <="
        );
        let e = vrrp_email("lb1", NotifyTarget::Instance, "VI_1", NotifyState::Stop);
        assert_eq!(e.subject, "[lb1] VRRP Instance VI_1 - Stopping");
        let e = vrrp_email("r", NotifyTarget::Group, "G", NotifyState::Fault);
        assert_eq!(
            e.body,
            "=> All VRRP group instances are now in FAULT state <="
        );
    }

    #[test]
    fn envelope_and_message_text() {
        assert_eq!(envelope_addr("a@b"), "<a@b>");
        assert_eq!(envelope_addr("Ops Team <ops@b>"), "<ops@b>");
        let c = cfg(25);
        let e = Email {
            subject: "S".into(),
            body: "line\n.dot".into(),
        };
        assert_eq!(
            message(&c, &e, "Mon, 01 Mar 2021 09:44:08 +0000"),
            "Date: Mon, 01 Mar 2021 09:44:08 +0000\r\nFrom: Keepalived <ka@example.com>\r\nSubject: S\r\nX-Mailer: Keepalived\r\nTo: ops@example.com,\r\n Oncall <pager@example.com>\r\n\r\nline\r\n..dot\r\n\r\n.\r\n"
        );
        assert!(rfc5322_now().contains(", "));
    }

    #[test]
    fn enabled_falls_back_to_global() {
        let mut g = GlobalDefs::default();
        assert!(!smtp_alert_enabled(None, &g));
        g.smtp_alert = Some(true);
        assert!(smtp_alert_enabled(None, &g));
        assert!(!smtp_alert_enabled(Some(false), &g));
        g.smtp_alert_vrrp = Some(false);
        assert!(!smtp_alert_enabled(None, &g));
        assert!(smtp_alert_enabled(Some(true), &g));
    }

    #[test]
    fn settings_need_server_and_recipients() {
        let mut g = GlobalDefs {
            notification_email: vec!["a@b".into()],
            ..Default::default()
        };
        assert_eq!(SmtpConfig::from_global(&g), None);
        g.smtp_server = Some(crate::config::model::SmtpServer {
            host: "mail".into(),
            port: 2525,
        });
        g.router_id = Some("rid".into());
        let c = SmtpConfig::from_global(&g).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("mail", 2525));
        assert_eq!(c.router_id, "rid");
        assert!(c.from.contains('@'));
        assert_eq!(c.timeout, Duration::from_secs(30));
        g.notification_email.clear();
        assert_eq!(SmtpConfig::from_global(&g), None);
    }

    /// A minimal SMTP server: answers every step, records the lines it got.
    async fn server(listener: TcpListener, rcpt_code: &'static str) -> Vec<String> {
        let (s, _) = listener.accept().await.unwrap();
        let (rd, mut wr) = s.into_split();
        let mut rd = BufReader::new(rd);
        let mut got = Vec::new();
        wr.write_all(b"220-smtp.test ESMTP\r\n220 ready\r\n")
            .await
            .unwrap();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if rd.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            let l = line.trim_end().to_string();
            got.push(l.clone());
            if in_data {
                if l == "." {
                    in_data = false;
                    wr.write_all(b"250 queued\r\n").await.unwrap();
                }
                continue;
            }
            let answer: &[u8] = if l.starts_with("HELO") {
                b"250-smtp.test\r\n250 ok\r\n"
            } else if l.starts_with("RCPT") {
                rcpt_code.as_bytes()
            } else if l == "DATA" {
                in_data = true;
                b"354 go ahead\r\n"
            } else if l == "QUIT" {
                wr.write_all(b"221 bye\r\n").await.unwrap();
                break;
            } else {
                b"250 ok\r\n"
            };
            wr.write_all(answer).await.unwrap();
        }
        got
    }

    #[tokio::test]
    async fn sends_keepalived_s_dialogue() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let srv = tokio::spawn(server(l, "250 ok\r\n"));
        let c = cfg(port);
        let e = vrrp_email("lb1", NotifyTarget::Instance, "VI_1", NotifyState::Master);
        send(&c, &e).await.unwrap();
        let got = srv.await.unwrap();
        assert_eq!(got[0], "HELO lb1.example");
        assert_eq!(got[1], "MAIL FROM:<ka@example.com>");
        assert_eq!(got[2], "RCPT TO:<ops@example.com>");
        assert_eq!(got[3], "RCPT TO:<pager@example.com>");
        assert_eq!(got[4], "DATA");
        assert!(
            got.contains(&"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state".to_string())
        );
        assert!(got.contains(&"=> VRRP Instance is now owning VRRP VIPs <=".to_string()));
        assert_eq!(got.last().map(String::as_str), Some("QUIT"));
    }

    #[tokio::test]
    async fn a_rejected_recipient_is_an_error_and_still_quits() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let srv = tokio::spawn(server(l, "550 no such user\r\n"));
        let e = vrrp_email("lb1", NotifyTarget::Group, "G", NotifyState::Backup);
        let err = send(&cfg(port), &e).await.unwrap_err();
        assert!(
            matches!(
                err,
                SmtpError::Rejected {
                    step: "RCPT",
                    code: 550,
                    ..
                }
            ),
            "{err}"
        );
        let got = srv.await.unwrap();
        assert!(!got.contains(&"DATA".to_string()), "{got:?}");
        assert_eq!(got.last().map(String::as_str), Some("QUIT"));
    }

    #[tokio::test]
    async fn a_silent_server_is_bounded_by_the_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        // Accepts and never greets.
        let hold = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(s);
        });
        let mut c = cfg(port);
        c.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let e = vrrp_email("lb1", NotifyTarget::Instance, "VI_1", NotifyState::Backup);
        let err = send(&c, &e).await.unwrap_err();
        assert!(matches!(err, SmtpError::Timeout("greeting")), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
        hold.abort();
    }

    #[tokio::test]
    async fn refused_connection_is_an_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = vrrp_email("lb1", NotifyTarget::Instance, "VI_1", NotifyState::Backup);
        let err = send(&cfg(port), &e).await.unwrap_err();
        assert!(matches!(err, SmtpError::Connect(..)), "{err}");
    }

    #[tokio::test]
    async fn alerter_skips_repeats_and_faults_with_no_email_faults() {
        let mut c = cfg(9);
        c.no_email_faults = true;
        let a = SmtpAlerter::spawn(c);
        let i = NotifyTarget::Instance;
        assert!(!a.admit(i, "VI_1", NotifyState::Fault));
        assert!(a.admit(i, "VI_1", NotifyState::Master));
        assert!(!a.admit(i, "VI_1", NotifyState::Master));
        assert!(a.admit(NotifyTarget::Group, "VI_1", NotifyState::Master));
        assert!(a.admit(i, "VI_2", NotifyState::Master));
        assert!(a.admit(i, "VI_1", NotifyState::Backup));
        assert!(a.admit(i, "VI_1", NotifyState::Master));
    }
}
