# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_keepalived_rs_global_optspecs
    string join \n f/use-file= P/vrrp C/check B/no_bfd all l/log-console D/log-detail S/log-facility= g/log-file= flush-log-file G/no-syslog X/release-vips V/dont-release-vrrp I/dont-release-ipvs R/dont-respawn n/dont-fork d/dump-conf p/pid= r/vrrp_pid= c/checkers_pid= b/bfd_pid= a/address-monitoring e/all-config i/config-id= t/config-test= u/umask= s/namespace= m/core-dump M/core-dump-pattern= signum= status= reload-plan= json metrics-listen= no-config-watch settings= list-keywords strict take-over= v/version x/snmp A/snmp-agent-socket= config-fd= debug= perf= L/mem-check-log no-mem-check h/help
end

function __fish_keepalived_rs_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_keepalived_rs_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_keepalived_rs_using_subcommand
    set -l cmd (__fish_keepalived_rs_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s f -l use-file -d 'Use the specified configuration file' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s S -l log-facility -d 'Syslog facility: 0-7, local0-7, user or daemon' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s g -l log-file -d 'Also log to FILE (`-gFILE` or `--log-file=FILE`; default $TMPDIR/keepalived.log; a relative name is in $TMPDIR; with -s NAME the name gets `_NAME` before its extension)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s p -l pid -d 'Pid file (default /run/keepalived-rs.pid; with -s NAME, /run/keepalived-rs/NAME/keepalived-rs.pid)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s r -l vrrp_pid -d 'VRRP pid file: our pid is written there too while VRRP runs (one process)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s c -l checkers_pid -d 'Checker pid file: our pid is written there too while checkers run (one process)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s b -l bfd_pid -d 'BFD pid file: our pid is written there too while BFD runs (one process)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s i -l config-id -d 'Configuration id for `@id` conditional lines (default: host name up to the first dot)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s t -l config-test -d 'Test the configuration and exit; diagnostics go to stderr or to FILE' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s u -l umask -d 'umask for created files (pid, dump and log files), numeric: 022 octal, 0x12 hex, 18 decimal (an invalid one is reported and ignored, as keepalived)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s s -l namespace -d 'Run in network namespace NAME (/run/netns/NAME), entered before anything else' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s M -l core-dump-pattern -d 'As -m, and set /proc/sys/kernel/core_pattern to PATN (default `core`) while we run' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l signum -d 'Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON and exit' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l status -d 'Print the state of the daemon running with this `-p` (its JSON dump, or `data` / `stats`), asked over its control socket (the pid file\'s name with `.sock`), and exit' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l reload-plan -d 'Ask the daemon running with this `-p` what a reload of the `-f` file (without `-f`: its own file) would do, without applying it; `text` (default) or `json`. Exit 0: nothing would change, 1: something would, 5: the file would be rejected, 3: no answer' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR:PORT/metrics' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l settings -d 'The daemon\'s settings file (TOML; default /etc/keepalived-rs/keepalived-rs.toml if present, or $KEEPALIVED_RS_SETTINGS): see the README\'s "Daemon settings"' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l take-over -d 'Take over from the keepalived running with this pid file without moving a VIP: read its state, prepare everything, stop it silently (SIGSTOP then SIGKILL: no priority 0, nothing removed) and resume each instance as it was. Refused, keepalived left running, when the configuration cannot adopt its state' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s A -l snmp-agent-socket -d 'Use the specified socket for the SNMP master agent (overrides `snmp_socket`)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l config-fd -d 'Refused: internal to keepalived\'s reload check child (not in its --help)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l debug -d 'Refused: keepalived\'s build-time debugging options (--debug, --perf, -L, --no-mem-check) have no keepalived-rs equivalent' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l perf -d 'See --debug' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s P -l vrrp -d 'Only run the VRRP subsystem'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s C -l check -d 'Only run the health-checker (LVS) subsystem'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s B -l no_bfd -d 'Do not run the BFD subsystem'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l all -d 'Run all subsystems even if they have no configuration (and despite -P/-C/-B given before it, as keepalived)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s l -l log-console -d 'Log messages to the console (stderr)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s D -l log-detail -d 'Detailed log messages'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l flush-log-file -d 'Flush the log file on write (equivalent no-op: every line is written at once)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s G -l no-syslog -d 'Do not log through syslog'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s X -l release-vips -d 'Drop VIPs on transitions (equivalent no-op: leaving MASTER always removes the VIPs this run added; keepalived needs -X for those it lost track of after a reload)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s V -l dont-release-vrrp -d 'Do not remove VIPs, virtual routes/rules and vmacs on exit, nor send priority 0 (an instance a reload adds, starting as BACKUP/FAULT, removes VIPs left over)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s I -l dont-release-ipvs -d 'Do not remove IPVS services on exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s R -l dont-respawn -d 'Do not restart what crashed: a crashed VRRP instance stops the daemon (keepalived: a dead child process ends keepalived). BFD sessions and checkers do not report crashes'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s n -l dont-fork -d 'Stay in the foreground (the default; keepalived-rs never forks)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s d -l dump-conf -d 'Print the parsed configuration (JSON) and exit (with -t: after the test). Unlike keepalived, which dumps to its log and runs, the daemon is not started'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s a -l address-monitoring -d 'Log every address added or removed, as netlink reports it'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s e -l all-config -d 'Fail if any configuration file (include) is missing'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s m -l core-dump -d 'Produce a core dump if we terminate abnormally (core size limit raised to unlimited)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l json -d 'With --reload-plan: print JSON'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l no-config-watch -d 'Do not watch the configuration files for changes (SIGHUP still reloads)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l list-keywords -d 'Print every keepalived.conf keyword with what keepalived-rs does with it (implemented, partial, equivalent, unsupported and what is lost), tab-separated, and exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l strict -d 'Refuse the configuration where keepalived would log a problem and recover (bad value defaulted or ignored, bad object skipped, dangling reference dropped)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s v -l version -d 'Print version and exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s x -l snmp -d 'Enable the SNMP subagent (every MIB keepalived-rs serves: KEEPALIVED-MIB, VRRP-MIB)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s L -l mem-check-log -d 'See --debug'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l no-mem-check -d 'See --debug'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s h -l help -d 'Print help'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -f -a "genhash" -d 'Print the MD5 digest of a URL\'s body, for HTTP_GET/SSL_GET `digest` (like keepalived\'s genhash)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s s -l server -d 'Server address or name' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s p -l port -d 'Port' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s u -l url -d 'URL path, e.g. /index.html' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s V -l virtualhost -d 'Host header (virtual host)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s P -l protocol -d 'HTTP protocol: 1.0, 1.0C or 1.1' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s m -l fwmark -d 'See --use-ssl' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s t -l timeout -d 'See --use-ssl' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s v -l verbose -d 'Also print the status code and body length'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s S -l use-ssl -d 'Refused: keepalived genhash\'s -S/--use-ssl, -I/--use-sni, -m/--fwmark and -t/--timeout are not supported by this genhash'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s I -l use-sni -d 'See --use-ssl'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s h -l help -d 'Print help'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand help; and not __fish_seen_subcommand_from genhash help" -f -a "genhash" -d 'Print the MD5 digest of a URL\'s body, for HTTP_GET/SSL_GET `digest` (like keepalived\'s genhash)'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand help; and not __fish_seen_subcommand_from genhash help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
