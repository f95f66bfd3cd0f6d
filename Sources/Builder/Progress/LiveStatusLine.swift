// The bottom line of a terminal, kept for a status (transfer progress) while log lines scroll
// above it.
import FoundationEssentials
import Glibc
import PluginSupport

/// A status line redrawn in place on a terminal. Every log line goes through `printLine`, which
/// clears the status, writes the line, and draws the status again, so the two never mix.
public final class LiveStatusLine: @unchecked Sendable {
    private let fd: Int32
    private let lock = Lock()
    private var status = ""

    /// A status line on the terminal `fd` (standard error).
    public init(fd: Int32 = STDERR_FILENO) { self.fd = fd }

    /// Writes one log line above the status.
    public func printLine(_ line: String) {
        lock.withLock {
            write((status.isEmpty ? "" : "\r\u{1B}[K") + line + "\n" + fitted(status))
        }
    }

    /// Replaces the status (an empty one clears it).
    public func show(_ text: String) {
        lock.withLock {
            guard text != status else { return }
            status = text
            write("\r\u{1B}[K" + fitted(text))
        }
    }

    /// Cut to the terminal's width: a wrapped status could not be redrawn in place.
    private func fitted(_ text: String) -> String {
        var size = winsize()
        let columns = ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
        return text.count < columns ? text : String(text.prefix(max(0, columns - 2))) + "…"
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
