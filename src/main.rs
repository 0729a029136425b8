//! The `corscope` binary: parses arguments and hands over to the library's CLI runner.

use std::process::ExitCode;

fn main() -> ExitCode {
    corscope::cli::main()
}
