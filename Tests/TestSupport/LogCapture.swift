// Collecting the log lines a plugin writes through `PluginContext.log`.
import Foundation
import PluginAPI

/// A thread-safe sink for plugin log lines; `log` is the closure to put in a `PluginContext`.
public final class LogCapture: @unchecked Sendable {
    public struct Line: Sendable, CustomStringConvertible {
        public var level: LogLevel
        public var text: String
        public var description: String { "[\(level)] \(text)" }
    }

    private let lock = NSLock()
    private var collected: [Line] = []
    /// Also print each line to stderr (useful when a test fails).
    public let echo: Bool

    public init(echo: Bool = ProcessInfo.processInfo.environment["KILN_TEST_ECHO_LOG"] != nil) {
        self.echo = echo
    }

    /// The closure for `PluginContext(log:)`; it records every level, `.trace` included.
    public var log: @Sendable (LogLevel, String) -> Void {
        { [self] level, text in
            lock.lock()
            collected.append(Line(level: level, text: text))
            lock.unlock()
            if echo { FileHandle.standardError.write(Data("[\(level)] \(text)\n".utf8)) }
        }
    }

    /// The lines collected so far, in order.
    public var lines: [Line] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// All lines as one text, for `contains` checks and failure messages.
    public var text: String { lines.map(\.description).joined(separator: "\n") }

    /// Forgets the lines collected so far.
    public func clear() {
        lock.lock()
        collected.removeAll()
        lock.unlock()
    }
}
