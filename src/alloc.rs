//! Tuning of glibc's allocator for a long-running recorder on a small board: few arenas,
//! large blocks always mapped on their own, and free memory handed back after a preview.
//!
//! A preview decode allocates about 20 MiB in a few large blocks (openh264's pictures and
//! per-macroblock state) and frees them a moment later. glibc would otherwise raise its
//! mmap threshold after the first such free and keep later ones in the heap, so the memory
//! of a preview would stay resident for good; and with one arena per camera thread, free
//! memory would be scattered over many heaps. Elsewhere (musl) these are no-ops.

/// Blocks at least this large are mapped on their own and unmapped when freed. Fixing it
/// also stops glibc from raising the threshold as large blocks are freed. 64 KiB rather
/// than 1 MiB: a 640x360 sub stream's preview decode is made of blocks under 1 MiB, which
/// stayed in the heap, fragmented, after each burst (16 cameras with sub streams: median
/// RSS 49.4 MiB at 1 MiB, 26.0 MiB at 64 KiB; bench/substreams.py, BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 64 << 10;
/// At most this many malloc arenas, whatever the number of camera threads. Threads
/// allocate little per frame, so contention on a shared arena is negligible.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: i32 = 2;

/// Applies the settings; call once at start, before threads are spawned.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; no other thread exists yet.
    unsafe {
        use nix::libc::{M_ARENA_MAX, M_MMAP_THRESHOLD, mallopt};
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        mallopt(M_ARENA_MAX, ARENA_MAX);
    }
}

/// Returns free heap memory to the system, after a burst of large allocations.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases memory that is free.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
