import FoundationEssentials
import Glibc
import ImageModel
import PluginAPI
import PluginSupport

/// Where build output goes: leveled lines on standard error, as text, colour or JSON
/// (kaniko's `--verbosity`, `--log-format`, `--log-timestamp`).
public struct BuildLog: Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, color, json }

    public var level: LogLevel
    public var format: Format
    public var timestamps: Bool
    /// Where lines are written; standard error unless a test captures them.
    public var sink: @Sendable (String) -> Void
    /// The platform a line is about, when several build at once: `[linux/arm64]` before the
    /// message, or a `platform` field in JSON.
    public var platform: String?
    /// Shows long transfers (`withProgress`); nil: none shown.
    public var progress: ProgressMeter?

    public init(
        level: LogLevel = .info, format: Format = .text, timestamps: Bool = false,
        sink: @escaping @Sendable (String) -> Void = BuildLog.standardError
    ) {
        self.level = level
        self.format = format
        self.timestamps = timestamps
        self.sink = sink
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        writeAll(2, Array((line + "\n").utf8))
    }

    /// Parses kaniko's verbosity names (`panic`, `fatal` and `error` all mean errors only).
    public static func level(named name: String) -> LogLevel? {
        switch name.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "warn", "warning": return .warning
        case "error", "fatal", "panic": return .error
        default: return nil
        }
    }

    public func callAsFunction(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level >= self.level else { return }
        sink(render(level, message()))
    }

    public func info(_ message: @autoclosure () -> String) { self(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { self(.debug, message()) }
    public func warning(_ message: @autoclosure () -> String) { self(.warning, message()) }

    /// The closure handed to plugins.
    public var pluginSink: @Sendable (LogLevel, String) -> Void {
        let copy = self
        return { level, message in copy(level, message) }
    }

    /// A line with fields a log system can index (`duration`, `digest`…): only JSON shows them.
    public func callAsFunction(_ level: LogLevel, _ message: String, fields: [String: JSONValue]) {
        guard level >= self.level else { return }
        guard format == .json else { return sink(render(level, message)) }
        sink(
            Self.jsonLine(
                level: Self.jsonLevels[level.rawValue], message: message, extra: platform.map { ["platform": $0] } ?? [:], fields: fields))
    }

    static let jsonLevels = ["trace", "debug", "info", "warning", "error"]

    func render(_ level: LogLevel, _ message: String) -> String {
        let name = ["TRAC", "DEBU", "INFO", "WARN", "ERRO"][level.rawValue]
        let stamp = timestamps ? Self.preciseNow() + " " : ""
        let tag = platform.map { "[\($0)] " } ?? ""
        switch format {
        case .text:
            return "\(stamp)\(name) \(tag)\(message)"
        case .color:
            let colour = ["37", "37", "36", "33", "31"][level.rawValue]
            return "\(stamp)\u{1B}[\(colour)m\(name)\u{1B}[0m \(tag)\(message)"
        case .json:
            return Self.jsonLine(level: Self.jsonLevels[level.rawValue], message: message, extra: platform.map { ["platform": $0] } ?? [:])
        }
    }

    /// One JSON object per line with the fields a log system indexes: `level`, `time`, `msg`,
    /// and `stage` (`1/2`) and `step` (`3/5`) when the message is a stage's or a step's, plus
    /// any `extra` fields (`error`) and `fields` (numbers: `duration`, `bytes`…).
    public static func jsonLine(
        level: String, message: String, extra: [String: String] = [:], fields: [String: JSONValue] = [:]
    ) -> String {
        var object: [String: JSONValue] = ["level": .string(level), "msg": .string(message), "time": .string(preciseNow())]
        if message.hasPrefix("["), let close = message.firstIndex(of: "]") {
            object["stage"] = .string(String(message[message.index(after: message.startIndex)..<close]))
            let rest = message[message.index(after: close)...]
            if let step = rest.firstRange(of: "STEP ") {
                object["step"] = .string(String(rest[step.upperBound...].prefix { $0.isNumber || $0 == "/" }))
            }
        }
        object.merge(extra.mapValues { .string($0) }) { $1 }
        object.merge(fields) { $1 }
        return JSONValue.object(object).serialized
    }

    /// RFC 3339 with milliseconds, so step timings can be read off the log.
    static func preciseNow() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let seconds = Timestamp.rfc3339(seconds: Int64(ts.tv_sec))
        return String(seconds.dropLast()) + String(cFormat: ".%03dZ", Int(ts.tv_nsec / 1_000_000))
    }
}
