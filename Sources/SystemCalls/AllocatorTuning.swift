// glibc's allocator, tuned once at start-up for a process whose big allocations are short-lived
// buffers (gzip chunks, read buffers, JSON) passed between threads.
//
// Left alone, glibc raises its mmap threshold to the size of the largest block freed so far
// (up to 32 MiB), so after the first 1 MiB chunk every later chunk comes from a heap arena,
// where a freed block stays resident until the arena's top is free; and each thread that
// allocates may get its own arena (8 per core). With this and the other memory changes of
// issue 10, bench (ii)'s peak RSS went from 56–57 MB to 50–51 MB (buildah: 52–57 MB).
import CKilnSys

public enum AllocatorTuning {
    /// Blocks from this size up are mapped and unmapped on their own: freeing one returns it.
    public static let mmapThreshold = 128 * 1024
    /// Heap arenas shared by all threads.
    public static let arenaCount = 2

    /// Applies the settings; false if glibc refused one (the build goes on untuned).
    @discardableResult
    public static func apply() -> Bool {
        kiln_tune_allocator(Int32(mmapThreshold), Int32(arenaCount)) == 1
    }
}
