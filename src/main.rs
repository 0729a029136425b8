//! The `corscope` binary: parses arguments and hands over to the library's CLI runner.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: resolving a flow makes a few hundred small
/// allocations, and glibc's malloc and free were about a fifth of the run time (and its
/// per-thread arenas grew when one thread frees what another allocated, as the pipeline's
/// stages do).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's option setter (the C library linked by `libmimalloc-sys`; the crate declares it
// only with its `extended` feature, which pulls in another crate for one function).
extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_arena_eager_commit` in `mi_option_e` (mimalloc v3's `include/mimalloc.h`, as
/// vendored by libmimalloc-sys 0.1.49; check the enum when upgrading).
const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;

/// Arenas committed on demand: with eager commit, memory mimalloc had purged stayed resident,
/// and peak RSS on a 2 GB capture was 185 MB instead of 155 MB (`--jobs 2`; 139 MB instead of
/// 126 MB with `--jobs 1`) for the same CPU time (README "Performance"). It must be set
/// before mimalloc reserves its first arena, which happens before `main` (the runtime's own
/// allocations): a prioritised `.init_array` entry runs before the unprioritised ones
/// (mimalloc's initialiser among them) and before `main`.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array.00200"]
static LAZY_ARENAS: extern "C" fn() = {
    extern "C" fn lazy_arenas() {
        // SAFETY: sets one integer option; no thread exists yet.
        unsafe { mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }
    lazy_arenas
};

fn main() -> ExitCode {
    corscope::cli::main()
}
