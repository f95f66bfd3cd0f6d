import Glibc
// The file system's clock, for "racily clean" checks.
import PluginAPI

extension FileTime {
    /// An instant no later than any timestamp the kernel will give a file changed from now on.
    ///
    /// Why not `CLOCK_REALTIME`: the kernel stamps files from its *coarse* clock, which lags the
    /// fine one by up to a tick (1–4 ms), so a file written just after a capture started could
    /// carry an mtime *before* a fine-grained start time and escape a racy check. The coarse
    /// clock minus its resolution is a safe lower bound (kernels with multigrain timestamps
    /// stamp files at or after the coarse clock too).
    public static func fileSystemNow() -> FileTime {
        var now = timespec()
        var resolution = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        clock_getres(CLOCK_REALTIME_COARSE, &resolution)
        var ns = Int64(now.tv_nsec) - Int64(resolution.tv_nsec) - Int64(resolution.tv_sec) * 1_000_000_000
        var s = Int64(now.tv_sec)
        while ns < 0 {
            ns += 1_000_000_000
            s -= 1
        }
        return FileTime(seconds: s, nanoseconds: ns)
    }
}
