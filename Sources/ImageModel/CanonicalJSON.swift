import FoundationEssentials
import Glibc
import PluginAPI

/// Encodes and decodes the JSON documents of the image model.
///
/// Encoding is canonical for this builder: keys sorted, no insignificant white space, `/` not
/// escaped; so the same value always gives the same bytes and the same digest.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Reads only the top-level `mediaType` of a manifest or index, if any.
    public static func mediaType(of bytes: [UInt8]) -> MediaType? {
        struct Probe: Decodable { var mediaType: MediaType? }
        return try? decode(Probe.self, from: bytes).mediaType
    }
}

/// RFC 3339 timestamps as the image model stores them.
public enum Timestamp {
    /// `seconds` since the epoch formatted as `2006-01-02T15:04:05Z`.
    public static func rfc3339(seconds: Int64) -> String {
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func digits(_ n: Int32, _ width: Int) -> String {
            let text = String(n)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(digits(tm.tm_year + 1900, 4))-\(digits(tm.tm_mon + 1, 2))-\(digits(tm.tm_mday, 2))T"
            + "\(digits(tm.tm_hour, 2)):\(digits(tm.tm_min, 2)):\(digits(tm.tm_sec, 2))Z"
    }

    public static func now() -> String { rfc3339(seconds: Int64(time(nil))) }
}
