//! The `pilotledger` binary: parse the command line and hand over to `cli`.

fn main() -> std::process::ExitCode {
    pilotledger::cli::main()
}
