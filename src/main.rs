//! The `letschat` binary: parses the command line and hands over to [`letschat::cli`].

fn main() -> std::process::ExitCode {
    letschat::cli::main()
}
