//! Issue #17, point 1: the configuration watcher sees the changes deployments make, with no
//! signal sent. One namespace test per pattern:
//! - kubelet's atomic ConfigMap update (a new `..TIMESTAMP` directory, a `..data_tmp` link to it
//!   renamed over `..data`, the old directory removed; `keepalived.conf -> ..data/keepalived.conf`);
//! - `/etc/keepalived/keepalived.conf` a symlink into a directory managed elsewhere, the target
//!   rewritten there, then the link itself replaced (`ln -sfn`) by one to another file;
//! - an include glob gaining a file, then losing it;
//! - `sed -i` (a temporary file renamed over the included file);
//! - a config-management tool's rename-into-place, then vim's backup-rename write.
//!
//! Each change is applied within 2 s, the address monitor sees exactly the changed instance's
//! events (the other instance's VIP never moves), and a touch (or a ConfigMap update of another
//! key) that leaves the content unchanged reloads nothing: the watcher compares the content
//! and logs it, and no "reloading" / "reload complete" follows.

mod common;

use common::lab::{self, Lab};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
/// The bound: a change is applied within 2 s.
const APPLIED_WITHIN: Duration = Duration::from_secs(2);
const UNCHANGED: &str = "content is unchanged: not reloading";

fn global() -> String {
    "global_defs {\n    vrrp_garp_master_delay 0\n}\n".to_string()
}

/// One instance (MASTER on its own after Master_Down_Interval) with these VIPs.
fn inst(name: &str, vrid: u8, vips: &[String]) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}/24\n")).collect();
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority 150\n    version 3\n    advert_int 0.2\n    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

struct Case {
    lab: Lab,
    /// VI_1's first VIP, the one the edits add to, and VI_2's (never touched).
    vip1: String,
    vip1b: String,
    vip2: String,
}

impl Case {
    fn new() -> Case {
        let lab = Lab::new(1);
        let net = lab.net();
        Case {
            vip1: format!("10.{net}.0.100"),
            vip1b: format!("10.{net}.0.101"),
            vip2: format!("10.{net}.0.200"),
            lab,
        }
    }

    /// VI_1 (with `vi1` VIPs) and VI_2.
    fn two(&self, vi1: &[&String]) -> (String, String) {
        let v: Vec<String> = vi1.iter().map(|s| s.to_string()).collect();
        (
            inst("VI_1", 61, &v),
            inst("VI_2", 62, std::slice::from_ref(&self.vip2)),
        )
    }

    fn conf(&self, vi1: &[&String]) -> String {
        let (a, b) = self.two(vi1);
        global() + &a + &b
    }

    /// Starts the daemon on `conf` (a path that may be a symlink), waits for both VIPs, then
    /// starts the address monitor.
    fn start(&mut self, conf: &Path) {
        self.lab.start_rs(1, "ours", OURS, conf);
        let ok = self.lab.wait_for(Duration::from_secs(20), || {
            self.lab.has_addr(1, &self.vip1) && self.lab.has_addr(1, &self.vip2)
        });
        assert!(ok, "not MASTER\n{}", self.lab.log("ours"));
        self.lab.monitor_addresses(1, "mon");
    }

    /// After `edit`, `vip` appears (add) or leaves within 2 s, with no signal; once the reload
    /// has completed, the monitor has seen exactly that one event, and `reloads` reloads in all.
    fn expect(&self, what: &str, vip: &str, add: bool, reloads: usize, edit: impl FnOnce()) {
        let before = self.lab.address_events("mon").len();
        let t0 = Instant::now();
        edit();
        let seen = self
            .lab
            .wait_for(APPLIED_WITHIN, || self.lab.has_addr(1, vip) == add);
        assert!(
            seen,
            "{what}: not applied within {APPLIED_WITHIN:?}\n{}",
            self.lab.log("ours")
        );
        let took = t0.elapsed();
        assert!(
            self.lab.wait_for(Duration::from_secs(5), || self
                .lab
                .reloads_completed("ours")
                >= reloads),
            "{what}: no reload completed\n{}",
            self.lab.log("ours")
        );
        let events: Vec<String> = self.lab.address_events_synced(1, "mon")[before..].to_vec();
        assert_eq!(
            events.len(),
            1,
            "{what}: {events:?}\n{}",
            self.lab.log("ours")
        );
        assert_eq!(events[0].starts_with("Deleted"), !add, "{what}: {events:?}");
        assert!(events[0].contains(&format!("{vip}/")), "{what}: {events:?}");
        assert!(self.lab.has_addr(1, &self.vip2), "{what}: VI_2's VIP left");
        assert_eq!(
            self.lab.reloads_completed("ours"),
            reloads,
            "{what}\n{}",
            self.lab.log("ours")
        );
        eprintln!("{what}: applied in {took:?}");
    }

    /// `touch` leaves the content as it is: the watcher sees it, compares, and reloads nothing.
    fn touch_reloads_nothing(&self, what: &str, file: &Path, reloads: usize) {
        let seen = self.lab.log("ours").matches(UNCHANGED).count();
        let started = self.lab.log("ours").matches("reloading ").count();
        lab::must(&["touch", &file.display().to_string()]);
        assert!(
            self.lab.wait_for(Duration::from_secs(5), || self
                .lab
                .log("ours")
                .matches(UNCHANGED)
                .count()
                > seen),
            "{what}: the watcher did not compare the touched file\n{}",
            self.lab.log("ours")
        );
        let log = self.lab.log("ours");
        assert_eq!(log.matches("reloading ").count(), started, "{what}\n{log}");
        assert_eq!(self.lab.reloads_completed("ours"), reloads, "{what}\n{log}");
    }
}

/// kubelet's AtomicWriter: the payload goes into a new `..TIMESTAMP` directory, a `..data_tmp`
/// link to it is renamed over `..data`, and the old directory is removed. The user-visible
/// names (`keepalived.conf -> ..data/keepalived.conf`) are created once and never touched.
fn kubelet_update(mnt: &Path, stamp: &str, files: &[(&str, &str)]) {
    let old = std::fs::read_link(mnt.join("..data")).ok();
    let dir = mnt.join(stamp);
    std::fs::create_dir(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    symlink(stamp, mnt.join("..data_tmp")).unwrap();
    std::fs::rename(mnt.join("..data_tmp"), mnt.join("..data")).unwrap();
    if let Some(old) = old {
        std::fs::remove_dir_all(mnt.join(old)).unwrap();
    }
    for (name, _) in files {
        let visible = mnt.join(name);
        if std::fs::symlink_metadata(&visible).is_err() {
            symlink(format!("..data/{name}"), &visible).unwrap();
        }
    }
}

#[test]
fn kubelet_configmap_update_is_applied() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut c = Case::new();
    let mnt = c.lab.dir.join("configmap");
    std::fs::create_dir(&mnt).unwrap();
    let first = c.conf(&[&c.vip1]);
    kubelet_update(
        &mnt,
        "..2026_12_07_06_00_00.000000001",
        &[("keepalived.conf", &first), ("other.key", "1")],
    );
    let conf = mnt.join("keepalived.conf");
    c.start(&conf);
    let second = c.conf(&[&c.vip1, &c.vip1b]);
    c.expect("kubelet ..data swap", &c.vip1b, true, 1, || {
        kubelet_update(
            &mnt,
            "..2026_12_07_06_01_00.000000002",
            &[("keepalived.conf", &second), ("other.key", "1")],
        )
    });
    // A ConfigMap update that changes another key only: a new ..data, same keepalived.conf.
    let seen = c.lab.log("ours").matches(UNCHANGED).count();
    kubelet_update(
        &mnt,
        "..2026_12_07_06_02_00.000000003",
        &[("keepalived.conf", &second), ("other.key", "2")],
    );
    assert!(
        c.lab.wait_for(Duration::from_secs(5), || c
            .lab
            .log("ours")
            .matches(UNCHANGED)
            .count()
            > seen),
        "{}",
        c.lab.log("ours")
    );
    assert_eq!(c.lab.reloads_completed("ours"), 1, "{}", c.lab.log("ours"));
    // And the next real change is still followed through the new directories.
    let third = c.conf(&[&c.vip1]);
    c.expect("kubelet ..data swap again", &c.vip1b, false, 2, || {
        kubelet_update(
            &mnt,
            "..2026_12_07_06_03_00.000000004",
            &[("keepalived.conf", &third), ("other.key", "2")],
        )
    });
    c.touch_reloads_nothing("kubelet", &conf, 2);
}

#[test]
fn a_symlinked_file_follows_its_target_and_a_replaced_link() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut c = Case::new();
    let etc = c.lab.dir.join("etc");
    let srv = c.lab.dir.join("srv/keepalived");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&srv).unwrap();
    let target = srv.join("keepalived.conf");
    std::fs::write(&target, c.conf(&[&c.vip1])).unwrap();
    let conf = etc.join("keepalived.conf");
    symlink(&target, &conf).unwrap();
    c.start(&conf);
    // The target, rewritten in its own directory (written next to it, renamed).
    let text = c.conf(&[&c.vip1, &c.vip1b]);
    c.expect("target rewritten", &c.vip1b, true, 1, || {
        c.lab.rewrite(&target, &text)
    });
    // The link replaced by one to another file (ln -sfn: a new link renamed over the old).
    let other = c.lab.dir.join("srv/other.conf");
    std::fs::write(&other, c.conf(&[&c.vip1])).unwrap();
    c.expect("link replaced", &c.vip1b, false, 2, || {
        lab::must(&[
            "ln",
            "-sfn",
            &other.display().to_string(),
            &conf.display().to_string(),
        ])
    });
    // The new target is the one followed now; the old one is not.
    let text = c.conf(&[&c.vip1, &c.vip1b]);
    c.expect("new target edited", &c.vip1b, true, 3, || {
        std::fs::write(&other, &text).unwrap()
    });
    c.touch_reloads_nothing("symlink target", &other, 3);
}

#[test]
fn an_include_glob_gaining_and_losing_a_file() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut c = Case::new();
    let dir = c.lab.dir.join("conf.d");
    std::fs::create_dir(&dir).unwrap();
    let (vi1, vi2) = c.two(&[&c.vip1]);
    std::fs::write(dir.join("10-vi1.conf"), vi1).unwrap();
    std::fs::write(dir.join("20-vi2.conf"), vi2).unwrap();
    let main = c.lab.write(
        "keepalived.conf",
        &(global() + &format!("include {}/*.conf\n", dir.display())),
    );
    c.start(&main);
    let net = c.lab.net();
    let vip3 = format!("10.{net}.0.150");
    let vi3 = inst("VI_3", 63, std::slice::from_ref(&vip3));
    let added = dir.join("30-vi3.conf");
    // A new file: a new instance, MASTER after its Master_Down_Interval (3 x 0.2 s + skew).
    c.expect("glob gains a file", &vip3, true, 1, || {
        std::fs::write(&added, &vi3).unwrap()
    });
    c.touch_reloads_nothing("include dir", &added, 1);
    c.expect("glob loses a file", &vip3, false, 2, || {
        std::fs::remove_file(&added).unwrap()
    });
    // A file that does not match the glob is not a change: written, then a matching file
    // touched, the watcher finds the content it applied.
    std::fs::write(dir.join("README"), "not included\n").unwrap();
    c.touch_reloads_nothing(
        "a file the glob does not match",
        &dir.join("10-vi1.conf"),
        2,
    );
    assert_eq!(c.lab.address_events("mon").len(), 2);
}

#[test]
fn sed_in_place_on_an_included_file() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut c = Case::new();
    let (vi1, vi2) = c.two(&[&c.vip1]);
    let vi1 = vi1.replace("    }\n}", "        #EXTRA\n    }\n}");
    let inc = c.lab.write("vi1.inc", &vi1);
    c.lab.write("vi2.inc", &vi2);
    let main = c.lab.write(
        "keepalived.conf",
        &(global() + "include vi1.inc\ninclude vi2.inc\n"),
    );
    c.start(&main);
    let script = format!("s|#EXTRA|{}/24|", c.vip1b);
    c.expect("sed -i", &c.vip1b, true, 1, || {
        lab::must(&["sed", "-i", &script, &inc.display().to_string()])
    });
    c.touch_reloads_nothing("sed -i", &inc, 1);
}

#[test]
fn rename_into_place_and_vim_backup_rename() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut c = Case::new();
    let conf = c.lab.write("keepalived.conf", &c.conf(&[&c.vip1]));
    c.start(&conf);
    // Ansible / Puppet / Salt: a temporary file in the same directory, renamed over.
    let text = c.conf(&[&c.vip1, &c.vip1b]);
    let tmp = c.lab.dir.join(".ansible_tmp_k3x9keepalived.conf");
    c.expect("rename into place", &c.vip1b, true, 1, || {
        std::fs::write(&tmp, &text).unwrap();
        std::fs::rename(&tmp, &conf).unwrap();
    });
    // vim (backup, backupcopy=no): the file renamed to its backup, a new one written.
    let text = c.conf(&[&c.vip1]);
    let backup: PathBuf = c.lab.dir.join("keepalived.conf~");
    c.expect("vim backup-rename", &c.vip1b, false, 2, || {
        std::fs::write(c.lab.dir.join("4913"), "").unwrap();
        std::fs::remove_file(c.lab.dir.join("4913")).unwrap();
        std::fs::rename(&conf, &backup).unwrap();
        std::fs::write(&conf, &text).unwrap();
        std::fs::remove_file(&backup).unwrap();
    });
    c.touch_reloads_nothing("rename into place", &conf, 2);
}
