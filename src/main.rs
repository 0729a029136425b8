//! The `corscope` binary: parses arguments and hands over to the library's CLI runner.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: resolving a flow makes a few hundred small
/// allocations, and glibc's malloc and free were about a fifth of the run time (and its
/// per-thread arenas grew when one thread frees what another allocated, as the pipeline's
/// stages do).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    corscope::cli::main()
}
