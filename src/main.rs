fn main() {
    std::process::exit(keepalived_rs::daemon::cli::main());
}
