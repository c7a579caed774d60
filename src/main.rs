fn main() {
    std::process::exit(keepalived_rs::cli::main());
}
