//! The `corscope` binary: parses arguments and hands over to the library's CLI runner.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;
use std::process::ExitCode;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// mimalloc instead of the system allocator: resolving a flow makes a few hundred small
/// allocations, and glibc's malloc and free were about a fifth of the run time (and its
/// per-thread arenas grew when one thread frees what another allocated, as the pipeline's
/// stages do).
#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// mimalloc, asked through its plain entry points whenever they already give the alignment.
/// The `mimalloc` crate sends every request through `mi_malloc_aligned`, and mimalloc v3 takes
/// its plain path there only when the block size is a power of two: a 48-byte request went
/// through the aligned generic path (`mi_theap_malloc_zero_aligned_at_overalloc`, 4 % of a
/// run's instructions) and got a 64-byte block. A block of a size that is a multiple of an
/// alignment up to `MI_MAX_ALIGN_SIZE` has that alignment (bins are multiples of 8, 16 above
/// 16, and a page's first block is 16-aligned), as the test below checks.
struct Mimalloc;

/// `MI_MAX_ALIGN_SIZE` on 64-bit targets.
const MI_MAX_ALIGN: usize = 16;

/// Whether a plain mimalloc block of `size` bytes is aligned to `align`.
fn plain(size: usize, align: usize) -> bool {
    align <= MI_MAX_ALIGN && size.is_multiple_of(align)
}

/// A new block for `layout` from `plain_fn` when a plain block is aligned enough ([`plain`]),
/// else from `aligned_fn`: the one rule of `alloc` and `alloc_zeroed`.
///
/// # Safety
/// Both functions must be mimalloc's allocation calls of that shape.
#[inline]
unsafe fn pick(
    layout: Layout,
    plain_fn: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned_fn: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    let (size, align) = (layout.size(), layout.align());
    // SAFETY: plain FFI allocation calls (see the impl's comment below).
    unsafe {
        if plain(size, align) {
            plain_fn(size).cast()
        } else {
            aligned_fn(size, align).cast()
        }
    }
}

// SAFETY: every request goes to mimalloc, which returns blocks of at least the size asked;
// the alignment is mimalloc's own for `plain` requests (see `Mimalloc`) and asked for
// explicitly otherwise; `mi_free` and `mi_realloc*` accept any block mimalloc returned.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's own calls (see the impl's comment).
        unsafe { pick(layout, mi_malloc, mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe { pick(layout, mi_zalloc, mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract).
        unsafe { mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        // SAFETY: `ptr` came from this allocator with `layout` (GlobalAlloc's contract).
        unsafe {
            if plain(new_size, align) {
                mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast(), new_size, align).cast()
            }
        }
    }
}

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

/// `mi_option_destroy_on_exit` in the same enum. Above 1, mimalloc's exit handler returns at
/// once.
const MI_OPTION_DESTROY_ON_EXIT: std::ffi::c_int = 22;

fn main() -> ExitCode {
    // The process exits right after the run: mimalloc's exit handler would only give its
    // freed pages back to the system one `madvise` at a time (8 ms of a 0.43 s `--jobs 2`
    // run on the 419 MB capture, on one core after every other thread has ended), which the
    // exit does anyway.
    // SAFETY: sets one integer option.
    unsafe { mi_option_set(MI_OPTION_DESTROY_ON_EXIT, 2) };
    corscope::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to a few pages with every alignment up to 64: the plain path gives the
    /// alignment asked, for fresh blocks, zeroed ones and grown ones, while many are live.
    #[test]
    fn blocks_have_the_alignment_asked() {
        let mut live = Vec::new();
        for size in 1..=9000usize {
            for align in [1usize, 2, 4, 8, 16, 32, 64] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: nonzero sizes; each block is freed below with its layout.
                unsafe {
                    let p = if size.is_multiple_of(3) {
                        GLOBAL.alloc_zeroed(layout)
                    } else {
                        GLOBAL.alloc(layout)
                    };
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    let grown = GLOBAL.realloc(p, layout, size + align * 5);
                    assert_eq!(grown as usize % align, 0, "grown {size} align {align}");
                    live.push((
                        grown,
                        Layout::from_size_align_unchecked(size + align * 5, align),
                    ));
                }
            }
            if live.len() > 4096 {
                for (p, l) in live.drain(..) {
                    // SAFETY: allocated above with this layout.
                    unsafe { GLOBAL.dealloc(p, l) };
                }
            }
        }
        for (p, l) in live {
            // SAFETY: allocated above with this layout.
            unsafe { GLOBAL.dealloc(p, l) };
        }
    }
}
