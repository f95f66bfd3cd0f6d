import Glibc
// The mtime race kaniko's README warns about: a file changed twice within one tick of the file
// system's clock keeps the same mtime and ctime, so a snapshot that trusts stat data misses the
// second change. Git calls such entries "racily clean". Here the window is closed at its source:
// after a capture, kiln waits until the file system clock has moved past every timestamp that
// could still be repeated, so any later change carries a different one. Nothing runs in the root
// while a snapshot is taken (the step has exited), so only later changes matter.
import PluginAPI

/// Waits out the file system clock's resolution after a capture.
public enum RacyTimestamps {
    /// Blocks until the file system clock is past `deadline(records, capturedAt:)`, if any.
    /// - Returns: how long it waited, in seconds (0 when nothing was racy).
    @discardableResult
    public static func settle(_ records: some Collection<FileRecord>, capturedAt start: FileTime) -> Double {
        guard let deadline = deadline(records, capturedAt: start) else { return 0 }
        var waited = 0.0
        while FileTime.fileSystemNow() <= deadline {
            usleep(1_000)
            waited += 0.001
        }
        return waited
    }

    /// The newest timestamp a later change could repeat, or nil when none could.
    ///
    /// Entries written in the second before the capture or later decide it. When all their
    /// timestamps are whole seconds, the file system keeps seconds only (ext2 and ext3 with
    /// 128-byte inodes, some network file systems): a change later in the same second would
    /// repeat them, so the deadline is the end of the newest one's second. Otherwise timestamps
    /// come from the kernel's coarse clock, and only those at or after the capture's start (the
    /// coarse clock minus its resolution) can repeat.
    public static func deadline(_ records: some Collection<FileRecord>, capturedAt start: FileTime) -> FileTime? {
        let recent = FileTime(seconds: start.seconds - 1, nanoseconds: 0)
        // A time beyond the clock was set explicitly (`touch -d`, an archive's mtime): a later
        // change is stamped with the clock's time, never with that one.
        let horizon = FileTime(seconds: FileTime.fileSystemNow().seconds + 2, nanoseconds: 0)
        var latest: FileTime?
        var wholeSeconds = true
        for record in records {
            for time in [record.mtime, record.ctime] where time >= recent && time < horizon {
                if time.nanoseconds != 0 { wholeSeconds = false }
                if latest.map({ time > $0 }) ?? true { latest = time }
            }
        }
        guard let latest else { return nil }
        if wholeSeconds {
            guard latest.seconds >= start.seconds else { return nil }
            return FileTime(seconds: latest.seconds, nanoseconds: 999_999_999)
        }
        return latest >= start ? latest : nil
    }
}
