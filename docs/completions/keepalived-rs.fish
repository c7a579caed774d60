# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_keepalived_rs_global_optspecs
    string join \n f/use-file= P/vrrp C/check B/no_bfd all l/log-console D/log-detail S/log-facility= g/log-file= G/no-syslog X/release-vips V/dont-release-vrrp I/dont-release-ipvs R/dont-respawn n/dont-fork d/dump-conf p/pid= r/vrrp_pid= c/checkers_pid= b/bfd_pid= a/address-monitoring e/all-config i/config-id= t/config-test= u/umask= signum= status= metrics-listen= no-config-watch list-keywords take-over= v/version h/help
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
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s g -l log-file -d 'Also log to this file' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s p -l pid -d 'Pid file' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s r -l vrrp_pid -d 'VRRP pid file (accepted for compatibility; there is one process)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s c -l checkers_pid -d 'Checker pid file (accepted for compatibility; there is one process)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s b -l bfd_pid -d 'BFD pid file (accepted for compatibility; there is one process)' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s i -l config-id -d 'Configuration id for `@id` conditional lines (default: host name up to the first dot)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s t -l config-test -d 'Test the configuration and exit; diagnostics go to stderr or to FILE' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s u -l umask -d 'umask for created files' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l signum -d 'Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON and exit' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l status -d 'Print the state of the daemon running with this `-p` (its JSON dump, or `data` / `stats`), asked over its control socket (the pid file\'s name with `.sock`), and exit' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR:PORT/metrics' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l take-over -d 'Take over from the keepalived running with this pid file without moving a VIP: read its state, prepare everything, stop it silently (SIGSTOP then SIGKILL: no priority 0, nothing removed) and resume each instance as it was. Refused, keepalived left running, when the configuration cannot adopt its state' -r -F
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s P -l vrrp -d 'Only run the VRRP subsystem'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s C -l check -d 'Only run the health-checker (LVS) subsystem'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s B -l no_bfd -d 'Do not run the BFD subsystem'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l all -d 'Run all subsystems even if they have no configuration'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s l -l log-console -d 'Log messages to the console (stderr)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s D -l log-detail -d 'Detailed log messages'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s G -l no-syslog -d 'Do not log through syslog'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s X -l release-vips -d 'Drop VIPs on transitions caused by signals'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s V -l dont-release-vrrp -d 'Do not remove VIPs and virtual routes on exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s I -l dont-release-ipvs -d 'Do not remove IPVS services on exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s R -l dont-respawn -d 'Do not restart crashed subsystems (accepted for compatibility; actors are always supervised)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s n -l dont-fork -d 'Stay in the foreground (the default; keepalived-rs never forks)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s d -l dump-conf -d 'Print the parsed configuration (JSON) and exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s a -l address-monitoring -d 'Log every address added or removed through netlink'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s e -l all-config -d 'Fail if any configuration file (include) is missing'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l no-config-watch -d 'Do not watch the configuration files for changes (SIGHUP still reloads)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -l list-keywords -d 'Print every keepalived.conf keyword with what keepalived-rs does with it (implemented, partial, equivalent, unsupported and what is lost), tab-separated, and exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s v -l version -d 'Print version and exit'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -s h -l help -d 'Print help'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -f -a "genhash" -d 'Print the MD5 digest of a URL\'s body, for HTTP_GET/SSL_GET `digest` (like keepalived\'s genhash)'
complete -c keepalived-rs -n "__fish_keepalived_rs_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s s -l server -d 'Server address or name' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s p -l port -d 'Port' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s u -l url -d 'URL path, e.g. /index.html' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s V -l virtualhost -d 'Host header (virtual host)' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s P -l protocol -d 'HTTP protocol: 1.0, 1.0C or 1.1' -r
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s v -l verbose -d 'Also print the status code and body length'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand genhash" -s h -l help -d 'Print help'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand help; and not __fish_seen_subcommand_from genhash help" -f -a "genhash" -d 'Print the MD5 digest of a URL\'s body, for HTTP_GET/SSL_GET `digest` (like keepalived\'s genhash)'
complete -c keepalived-rs -n "__fish_keepalived_rs_using_subcommand help; and not __fish_seen_subcommand_from genhash help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
