//! The `dcinv` binary: parses the command line and maps library errors to messages and exit
//! codes (0 = built from every source, 1 = built but a source failed, 2 = failed).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dcinv: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
