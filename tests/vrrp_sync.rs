//! vrrp_sync_group end to end, in network namespaces: a group of two instances on each node
//! moves together (FAULT of one member, a member outranked by the peer), group notify scripts
//! and FIFO lines in keepalived's format and order, the same against keepalived 2.2.7 as the
//! peer, and smtp_alert e-mails delivered to a real SMTP listener.

mod common;

use common::lab::{self, Lab};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// One node's configuration: `vrrp_sync_group G1 { VI_81 VI_82 }` (when `grouped`) with two
/// v3 instances at `prio` owning `va` and `vb`.
struct Node<'a> {
    prio: u8,
    grouped: bool,
    global: &'a str,
    /// Text before the blocks (vrrp_script definitions).
    head: &'a str,
    group_extra: &'a str,
    vi1_extra: &'a str,
}

fn conf(n: &Node, va: &str, vb: &str) -> String {
    let mut c = format!(
        "global_defs {{\n    router_id lab\n{}\n}}\n{}\n",
        n.global, n.head
    );
    if n.grouped {
        c.push_str(&format!(
            "vrrp_sync_group G1 {{\n    group {{\n        VI_81\n        VI_82\n    }}\n{}\n}}\n",
            n.group_extra
        ));
    }
    for (vrid, vip, extra) in [(81, va, n.vi1_extra), (82, vb, "")] {
        c.push_str(&format!(
            "vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {}\n    version 3\n    advert_int 0.1\n{extra}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n",
            n.prio
        ));
    }
    c
}

/// h1 (ours, 150) and h2 (ours or keepalived, 100), each with the group G1. VI_81 on h1
/// tracks a script with weight 0: its failure is a FAULT of VI_81, hence of the group: both
/// VIPs go to h2 and come back together when it recovers.
fn member_fault_moves_the_group(peer_keepalived: bool) {
    if lab::skip(peer_keepalived) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let (va, vb) = (lab.vip4(81), lab.vip4(82));
    let d = lab.dir.display().to_string();
    let flag = format!("{d}/healthy");
    std::fs::write(&flag, "").unwrap();
    let rec = lab.notify_recorder(1);
    let (s, notes, fifo) = (&rec.script, &rec.notes, &rec.fifo);
    let global = format!("    vrrp_notify_fifo {fifo}\n");
    let head = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -f {flag}\"\n    interval 0.2\n}}\n"
    );
    let group_extra = format!(
        "    notify_master \"{s} g-master\"\n    notify_backup \"{s} g-backup\"\n    notify_fault \"{s} g-fault\"\n    notify_stop \"{s} g-stop\"\n    notify \"{s} g-generic\"\n"
    );
    let h1 = Node {
        prio: 150,
        grouped: true,
        global: &global,
        head: &head,
        group_extra: &group_extra,
        vi1_extra: "    track_script {\n        chk\n    }\n",
    };
    let h2 = Node {
        prio: 100,
        grouped: true,
        global: "",
        head: "",
        group_extra: "",
        vi1_extra: "",
    };
    let c1 = lab.write("h1.conf", &conf(&h1, &va, &vb));
    let c2 = lab.write("h2.conf", &conf(&h2, &va, &vb));
    let peer = if peer_keepalived { "ka" } else { "peer" };
    lab.start_rs(1, "ours", OURS, &c1);
    if peer_keepalived {
        lab.start_keepalived(2, peer, &c2);
    } else {
        lab.start_rs(2, peer, OURS, &c2);
    }
    let both_on = |lab: &Lab, h: usize| lab.owners(&va) == vec![h] && lab.owners(&vb) == vec![h];
    assert!(
        lab.wait_for(Duration::from_secs(15), || both_on(&lab, 1)),
        "h1 does not own both VIPs\n{}",
        lab.logs(&["ours", peer])
    );

    // VI_81's script fails: VI_81 FAULT, VI_82 follows (sync_group), h2 takes both.
    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || both_on(&lab, 2)),
        "the group did not move to h2: va {:?} vb {:?}\n{}",
        lab.owners(&va),
        lab.owners(&vb),
        lab.logs(&["ours", peer])
    );
    let log = lab.log("ours");
    assert!(
        log.contains("VRRP_Instance(VI_81) MASTER -> FAULT (track_failed)"),
        "{log}"
    );
    assert!(
        log.contains("VRRP_Instance(VI_82) MASTER -> FAULT (sync_group)"),
        "{log}"
    );
    if !peer_keepalived {
        let p = lab.log(peer);
        assert!(p.contains("VRRP_Group(G1) BACKUP -> MASTER"), "{p}");
    }

    // Recovery: h1 preempts with the whole group.
    std::fs::write(&flag, "").unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || both_on(&lab, 1)),
        "the group did not come back: va {:?} vb {:?}\n{}",
        lab.owners(&va),
        lab.owners(&vb),
        lab.logs(&["ours", peer])
    );

    // Stop h1: the group's STOP notifies run before the daemon exits.
    lab.signal("ours", libc::SIGTERM);
    assert!(
        lab.wait_exit("ours", Duration::from_secs(10)).is_some(),
        "daemon did not stop"
    );

    // Group notify scripts: the specific one gets only its arguments, the generic one
    // `GROUP G1 <state> 0` appended; one group's scripts run in order.
    let text = std::fs::read_to_string(notes).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let want: Vec<String> = ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"]
        .iter()
        .flat_map(|st| {
            [
                format!("g-{}", st.to_lowercase()),
                format!("g-generic GROUP G1 {st} 0"),
            ]
        })
        .collect();
    assert_eq!(lines, want, "group notify scripts\n{}", lab.log("ours"));

    // FIFO: each GROUP line follows both members' INSTANCE lines for that state.
    let fifo_text = std::fs::read_to_string(&rec.fifo_log).unwrap_or_default();
    let mut members_seen: Vec<String> = Vec::new();
    let mut groups = Vec::new();
    for l in fifo_text.lines() {
        if let Some(rest) = l.strip_prefix("GROUP \"G1\" ") {
            let st = rest.split(' ').next().unwrap_or("");
            for vi in ["VI_81", "VI_82"] {
                let w = format!("INSTANCE \"{vi}\" {st} ");
                assert!(
                    members_seen.iter().any(|m| m.starts_with(&w)),
                    "{l:?} before {w:?}:\n{fifo_text}"
                );
            }
            assert!(rest.ends_with(" 0"), "{l:?}");
            groups.push(st.to_string());
            members_seen.clear();
        } else {
            members_seen.push(l.to_string());
        }
    }
    assert_eq!(
        groups,
        vec!["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"],
        "{fifo_text}"
    );
}

#[test]
fn sync_group_member_fault_moves_both_vips_and_back() {
    member_fault_moves_the_group(false);
}

#[test]
fn sync_group_member_fault_moves_both_vips_to_keepalived_and_back() {
    member_fault_moves_the_group(true);
}

/// h1 (ours, 150) has the group; h2 (ours) has the same instances without a group, VI_81
/// gaining 100 while a flag file exists. When h2's VI_81 outranks h1's, h1's VI_82 follows
/// VI_81 to BACKUP (sync_group) and h2 gets both VIPs; h1's VI_82 would preempt h2's (100)
/// but its group holds it back while VI_81 cannot be MASTER; when h2's VI_81 drops back, h1
/// takes both again.
#[test]
fn outranked_member_takes_its_group_to_backup_and_holds_it() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let (va, vb) = (lab.vip4(81), lab.vip4(82));
    let flag = format!("{}/boost", lab.dir.display());
    let head = format!(
        "vrrp_script boost {{\n    script \"/usr/bin/test -f {flag}\"\n    interval 0.2\n    weight 100\n}}\n"
    );
    let h1 = Node {
        prio: 150,
        grouped: true,
        global: "",
        head: "",
        group_extra: "",
        vi1_extra: "",
    };
    let h2 = Node {
        prio: 100,
        grouped: false,
        global: "",
        head: &head,
        group_extra: "",
        vi1_extra: "    track_script {\n        boost\n    }\n",
    };
    let c1 = lab.write("h1.conf", &conf(&h1, &va, &vb));
    let c2 = lab.write("h2.conf", &conf(&h2, &va, &vb));
    lab.start_rs(1, "h1", OURS, &c1);
    lab.start_rs(2, "h2", OURS, &c2);
    let both_on = |lab: &Lab, h: usize| lab.owners(&va) == vec![h] && lab.owners(&vb) == vec![h];
    assert!(
        lab.wait_for(Duration::from_secs(15), || both_on(&lab, 1)),
        "{}",
        lab.logs(&["h1", "h2"])
    );

    std::fs::write(&flag, "").unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || both_on(&lab, 2)),
        "the group did not yield: va {:?} vb {:?}\n{}",
        lab.owners(&va),
        lab.owners(&vb),
        lab.logs(&["h1", "h2"])
    );
    // Held: h1's VI_82 (150) hears h2's VI_82 (100) and would preempt it on its own.
    assert!(
        lab.holds_for(Duration::from_secs(2), || both_on(&lab, 2)),
        "the group split: va {:?} vb {:?}\n{}",
        lab.owners(&va),
        lab.owners(&vb),
        lab.logs(&["h1", "h2"])
    );
    let log = lab.log("h1");
    assert!(
        log.contains("VRRP_Instance(VI_81) MASTER -> BACKUP (higher_priority_advert)"),
        "{log}"
    );
    assert!(
        log.contains("VRRP_Instance(VI_82) MASTER -> BACKUP (sync_group)"),
        "{log}"
    );
    assert!(
        log.contains("VRRP_Group(G1) VI_82 would be MASTER; waiting for VI_81"),
        "{log}"
    );

    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || both_on(&lab, 1)),
        "the group did not come back: va {:?} vb {:?}\n{}",
        lab.owners(&va),
        lab.owners(&vb),
        lab.logs(&["h1", "h2"])
    );
    let log = lab.log("h1");
    assert!(log.contains("VRRP_Group(G1) BACKUP -> MASTER"), "{log}");
}

/// One SMTP session as the listener saw it.
#[derive(Debug, Default)]
struct Mail {
    helo: String,
    from: String,
    rcpt: Vec<String>,
    data: Vec<String>,
}

impl Mail {
    fn subject(&self) -> &str {
        self.data
            .iter()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
    }
}

/// A real SMTP listener on 127.0.0.1:`port` inside namespace `ns` (a thread entered into it):
/// greeting 220, HELO/EHLO 250, MAIL/RCPT 250, DATA 354 ... 250, QUIT 221. Each finished
/// session is sent on the returned channel.
fn smtp_listener(ns: &str, port: u16) -> mpsc::Receiver<Mail> {
    use std::os::fd::AsRawFd;
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).expect("netns file");
        // SAFETY: setns on a valid namespace fd; affects this thread only.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        let l = TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP listener");
        ready_tx.send(()).unwrap();
        for conn in l.incoming() {
            let Ok(conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let mut w = conn.try_clone().unwrap();
            let mut r = BufReader::new(conn);
            let mut m = Mail::default();
            let _ = w.write_all(b"220 smtp.lab ESMTP\r\n");
            let mut in_data = false;
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let l = line.trim_end().to_string();
                if in_data {
                    if l == "." {
                        in_data = false;
                        let _ = w.write_all(b"250 queued\r\n");
                    } else {
                        m.data.push(l);
                    }
                    continue;
                }
                let up = l.to_ascii_uppercase();
                let answer: &[u8] = if up.starts_with("HELO") || up.starts_with("EHLO") {
                    m.helo = l.clone();
                    b"250 smtp.lab\r\n"
                } else if up.starts_with("MAIL FROM:") {
                    m.from = l.clone();
                    b"250 ok\r\n"
                } else if up.starts_with("RCPT TO:") {
                    m.rcpt.push(l.clone());
                    b"250 ok\r\n"
                } else if up == "DATA" {
                    in_data = true;
                    b"354 end with .\r\n"
                } else if up == "QUIT" {
                    let _ = w.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"500 what\r\n"
                };
                let _ = w.write_all(answer);
            }
            if tx.send(m).is_err() {
                break;
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("SMTP listener ready");
    rx
}

#[test]
fn smtp_alert_emails_for_instances_and_groups() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let (va, vb) = (lab.vip4(81), lab.vip4(82));
    let port = 2525;
    let mails = smtp_listener(lab.ns(1), port);
    let global = format!(
        "    notification_email {{\n        ops@lab.test\n        \"Pager <pager@lab.test>\"\n    }}\n    notification_email_from ka@lab.test\n    smtp_server 127.0.0.1 {port}\n    smtp_helo_name lb-test\n    smtp_connect_timeout 5\n    smtp_alert\n"
    );
    let h1 = Node {
        prio: 150,
        grouped: true,
        global: &global,
        head: "",
        group_extra: "",
        vi1_extra: "",
    };
    let c1 = lab.write("h1.conf", &conf(&h1, &va, &vb));
    lab.start_rs(1, "ours", OURS, &c1);
    let wanted = [
        "[lab] VRRP Instance VI_81 - Entering MASTER state",
        "[lab] VRRP Instance VI_82 - Entering MASTER state",
        "[lab] VRRP Group G1 - Entering MASTER state",
    ];
    let mut got: Vec<Mail> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !wanted.iter().all(|w| got.iter().any(|m| m.subject() == *w)) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match mails.recv_timeout(left) {
            Ok(m) => got.push(m),
            Err(_) => panic!(
                "e-mails missing; got {:?}\n{}",
                got.iter().map(Mail::subject).collect::<Vec<_>>(),
                lab.log("ours")
            ),
        }
    }
    for m in &got {
        assert_eq!(m.helo, "HELO lb-test", "{m:?}");
        assert_eq!(m.from, "MAIL FROM:<ka@lab.test>", "{m:?}");
        assert_eq!(
            m.rcpt,
            vec!["RCPT TO:<ops@lab.test>", "RCPT TO:<pager@lab.test>"],
            "{m:?}"
        );
        assert!(m.data.iter().any(|l| l == "From: ka@lab.test"), "{m:?}");
        assert!(m.data.iter().any(|l| l.starts_with("Date: ")), "{m:?}");
    }
    let group = got
        .iter()
        .find(|m| m.subject() == "[lab] VRRP Group G1 - Entering MASTER state")
        .unwrap();
    assert!(
        group
            .data
            .iter()
            .any(|l| l == "=> All VRRP group instances are now in MASTER state <="),
        "{group:?}"
    );
    let vi = got
        .iter()
        .find(|m| m.subject() == "[lab] VRRP Instance VI_81 - Entering MASTER state")
        .unwrap();
    assert!(
        vi.data
            .iter()
            .any(|l| l == "=> VRRP Instance is now owning VRRP VIPs <="),
        "{vi:?}"
    );
    // The VIPs were there meanwhile: e-mail never held the instance up.
    assert!(lab.has_addr(1, &va) && lab.has_addr(1, &vb));
}
