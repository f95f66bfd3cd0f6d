// What this process registered with binfmt_misc (and whether it mounted binfmt_misc), kept
// process-wide so that every way out of kiln undoes it: `release` on the normal path, the
// host's SIGINT/SIGTERM handler through `CrossBuildBackend.releaseAll()`, and an atexit hook.
import Glibc
import Synchronization

/// The process-wide record and the two ways of undoing it.
///
/// Two layers: a `Mutex`-protected reference count per entry (sessions of concurrent builds
/// share one registration; the last `release` removes it) and lock-free bits that say what is
/// still registered. `releaseAll()` reads only the bits, so a signal handler that interrupted a
/// thread holding the mutex cannot deadlock; whichever of `release` and `releaseAll` clears a
/// bit first is the one that unregisters, so nothing is removed twice.
enum BinfmtCleanup {
    /// Bit `QEMUArchitecture.rawValue`: kiln's entry for that architecture is registered by
    /// this process and not yet removed.
    static let registered = Atomic<UInt32>(0)
    /// This process mounted binfmt_misc and has not unmounted it yet.
    static let mounted = Atomic<Bool>(false)
    private static let atexitInstalled = Atomic<Bool>(false)

    /// Sessions holding each of kiln's entries, and sessions holding kiln's mount.
    struct References: Sendable {
        var entries: [QEMUArchitecture: Int] = [:]
        var mount = 0
    }
    static let references = Mutex(References())

    /// Marks `arch`'s entry as registered by this process (call right after registering).
    static func recordRegistered(_ arch: QEMUArchitecture) {
        installExitHook()
        registered.bitwiseOr(UInt32(1) << UInt32(arch.rawValue), ordering: .sequentiallyConsistent)
    }

    /// Marks binfmt_misc as mounted by this process (call right after mounting).
    static func recordMounted() {
        installExitHook()
        mounted.store(true, ordering: .sequentiallyConsistent)
    }

    /// Claims the right to unregister `arch`'s entry: true once, for whoever comes first.
    static func claimRegistered(_ arch: QEMUArchitecture) -> Bool {
        let bit = UInt32(1) << UInt32(arch.rawValue)
        return registered.bitwiseAnd(~bit, ordering: .sequentiallyConsistent).oldValue & bit != 0
    }

    /// Claims the right to unmount: true once, for whoever comes first.
    static func claimMounted() -> Bool {
        mounted.exchange(false, ordering: .sequentiallyConsistent)
    }

    /// Removes every entry this process registered, then unmounts binfmt_misc if this process
    /// mounted it. Synchronous, allocation-free and lock-free (atomics, open, write, close,
    /// umount2 on static strings), so a signal handler may call it; idempotent.
    static func releaseAll() {
        let bits = registered.exchange(0, ordering: .sequentiallyConsistent)
        // Raw values rather than `allCases`, which would build an array (allocate).
        for bit in 0..<32 where bits & (UInt32(1) << UInt32(bit)) != 0 {
            if let arch = QEMUArchitecture(rawValue: bit) { unregisterRaw(path: cString(arch.entryPath)) }
        }
        if mounted.exchange(false, ordering: .sequentiallyConsistent) {
            // Detach: never block a dying process on a busy file system.
            _ = umount2(cString(mountPointC), Int32(MNT_DETACH))
        }
    }

    private static let mountPointC: StaticString = "/proc/sys/fs/binfmt_misc"

    /// A string literal's bytes, which the compiler stores NUL-terminated.
    private static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// `-1` written to an entry file removes the entry.
    private static func unregisterRaw(path: UnsafePointer<CChar>) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var command: (CChar, CChar) = (45, 49)  // "-1"
        _ = withUnsafeBytes(of: &command) { write(fd, $0.baseAddress, 2) }
        close(fd)
    }

    /// atexit: a host that returns from main or calls exit() without releasing still leaves
    /// binfmt_misc as it found it. (Signals that kill the process run no atexit handler; the
    /// host's handler calls `releaseAll()` for those.)
    private static func installExitHook() {
        guard atexitInstalled.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
        else { return }
        atexit { BinfmtCleanup.releaseAll() }
    }
}
