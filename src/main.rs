//! The `provisio` binary: everything is in the library's `cli` module.

fn main() -> std::process::ExitCode {
    provisio::cli::main()
}
