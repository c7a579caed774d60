//! Man pages and shell completions are generated from the real command-line definition
//! (`keepalived_rs::daemon::args::Args`) and the keyword registry; the committed files under `docs/`
//! (shipped by the Debian package) must equal what they generate, so they cannot drift.
//! `KEEPALIVED_RS_BLESS=1 cargo test --test docs_generated` rewrites them.

use clap::CommandFactory;
use keepalived_rs::config::keywords::{Status, KEYWORDS};
use keepalived_rs::daemon::args::Args;
use std::path::Path;

/// keepalived-rs(8): clap's sections, then signals, files, exit status and see also.
fn man8() -> String {
    let cmd = Args::command().name("keepalived-rs");
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .section("8")
        .render(&mut buf)
        .expect("render man page");
    let mut s = String::from_utf8(buf).expect("utf-8 man page");
    s.push_str(
        r#".SH SIGNALS
.TP
\fBSIGHUP\fR
Reload the configuration: only changed objects are restarted; an invalid file is rejected and
the running configuration goes on. Editing the file or any included file also reloads (see
\fB\-\-no\-config\-watch\fR).
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
Stop: MASTERs send priority 0, VIPs, routes and rules are removed (kept with \fB\-V\fR), IPVS
services are removed (kept with \fB\-I\fR).
.TP
\fBSIGUSR1\fR
Write the data dump (keepalived.data) in $TMPDIR or /tmp, or \fBstate_dump_file\fR.
.TP
\fBSIGUSR2\fR
Write the statistics dump (keepalived.stats), or \fBstats_dump_file\fR.
.TP
\fBSIGRTMIN+2\fR
Write the JSON dump (keepalived.json), or \fBjson_dump_file\fR; \fB\-\-signum=JSON\fR prints the
number.
.TP
\fBSIGRTMAX\-1\fR
Clear the statistics.
.SH FILES
.TP
\fI/etc/keepalived/keepalived.conf\fR
The configuration (keepalived's grammar, see \fBkeepalived\-rs.conf\fR(5)).
.TP
\fI/run/keepalived\-rs.pid\fR
The pid file (\fB\-p\fR); the control socket for \fB\-\-status\fR is next to it.
.TP
\fI/etc/default/keepalived\fR
DAEMON_ARGS for the systemd unit \fIkeepalived\-rs.service\fR.
.SH EXIT STATUS
0 on success; 1 on a fatal error; 2 when the configuration is invalid at start; with \fB\-t\fR,
4 when the file cannot be read and 5 when it has errors.
.SH SEE ALSO
\fBkeepalived\-rs.conf\fR(5), \fBkeepalived\fR(8), \fBkeepalived.conf\fR(5)
"#,
    );
    s
}

/// keepalived-rs.conf(5): what differs from keepalived.conf(5), from the keyword registry.
fn man5() -> String {
    let mut s = String::from(
        r#".TH keepalived-rs.conf 5 "" "keepalived-rs" "File Formats"
.SH NAME
keepalived\-rs.conf \- keepalived.conf as keepalived\-rs reads it
.SH DESCRIPTION
keepalived\-rs reads keepalived's configuration file unchanged: the grammar, blocks, keywords,
\fBinclude\fR, \fB@\fRid conditionals, \fB$\fRNAME parameters and \fB~SEQ\fR generators are
described in \fBkeepalived.conf\fR(5). This page lists what keepalived\-rs does differently.
Every keyword of keepalived 2.2.7 is either implemented, partly implemented (a warning says what
is missing), an equivalent no-op, or unsupported: an unsupported keyword is reported at \fB\-t\fR,
at start and at every reload as
.PP
.RS
FILE:LINE: warning: 'KEYWORD' is not supported by keepalived\-rs: WHAT IS LOST
.RE
.PP
and is otherwise ignored. \fBkeepalived\-rs \-\-list\-keywords\fR prints the whole table.
.PP
Where keepalived logs a problem and carries on (a value out of range, an unknown state, a
dangling reference), keepalived\-rs does the same with a located warning naming the recovery;
\fB\-\-strict\fR makes such problems errors, for linting.
.SH AUTHENTICATION
\fBauth_type AH\fR works as in keepalived 2.2.7 (VRRPv2 over IPv4): adverts inside an IP
Authentication Header (protocol 51) with HMAC\-MD5\-96 keyed with the first 8 characters of
\fBauth_pass\fR; an initial \fBstate MASTER\fR is cleared with a warning, as keepalived does.
"#,
    );
    for (title, status) in [
        ("PARTLY SUPPORTED KEYWORDS", Status::Partial),
        ("UNSUPPORTED KEYWORDS", Status::Unsupported),
        ("EQUIVALENT KEYWORDS (NO ACTION NEEDED)", Status::Equivalent),
    ] {
        s.push_str(&format!(".SH {title}\n"));
        for k in KEYWORDS.iter().filter(|k| k.status == status) {
            let block = k.block.replace('-', "\\-");
            s.push_str(&format!(
                ".TP\n\\fB{}\\fR ({block})\n{}\n",
                k.keyword.replace('-', "\\-"),
                k.text.replace('\\', "\\\\").replace('-', "\\-")
            ));
        }
    }
    s.push_str(".SH SEE ALSO\n\\fBkeepalived\\-rs\\fR(8), \\fBkeepalived.conf\\fR(5)\n");
    s
}

fn completion(shell: clap_complete::Shell) -> String {
    let mut cmd = Args::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "keepalived-rs", &mut buf);
    String::from_utf8(buf).expect("utf-8 completion")
}

fn check(rel: &str, want: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var_os("KEEPALIVED_RS_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create docs dir");
        }
        std::fs::write(&path, want).expect("write generated file");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{rel} differs from what the command line / registry generate: \
         run KEEPALIVED_RS_BLESS=1 cargo test --test docs_generated"
    );
}

#[test]
fn man_page_8_is_generated_from_the_command_line() {
    let m = man8();
    // Every long option of the real definition is documented.
    for a in Args::command().get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(l) = a.get_long() {
            assert!(
                m.contains(&l.replace('-', "\\-")),
                "--{l} missing from the man page"
            );
        }
    }
    check("docs/man/keepalived-rs.8", &m);
}

#[test]
fn man_page_5_lists_the_registry() {
    let m = man5();
    let unsupported = KEYWORDS
        .iter()
        .filter(|k| k.status == Status::Unsupported)
        .count();
    assert_eq!(
        m.matches(".TP\n").count(),
        unsupported
            + KEYWORDS
                .iter()
                .filter(|k| matches!(k.status, Status::Partial | Status::Equivalent))
                .count()
    );
    check("docs/man/keepalived-rs.conf.5", &m);
}

#[test]
fn completions_are_generated_from_the_command_line() {
    use clap_complete::Shell;
    let bash = completion(Shell::Bash);
    assert!(
        bash.contains("--use-file"),
        "bash completion lacks --use-file"
    );
    check("docs/completions/keepalived-rs.bash", &bash);
    check("docs/completions/_keepalived-rs", &completion(Shell::Zsh));
    check(
        "docs/completions/keepalived-rs.fish",
        &completion(Shell::Fish),
    );
}
