// `RUN --mount=type=…,key=value,…` parsed into a typed value (BuildKit's runmount rules).

/// One `--mount` of a RUN instruction.
public struct RunMount: Sendable, Hashable {
    public enum MountType: String, Sendable, Hashable, CaseIterable {
        case bind, cache, tmpfs, secret, ssh
    }

    public enum Sharing: String, Sendable, Hashable, CaseIterable {
        case shared, `private`, locked
    }

    public var type: MountType = .bind
    /// `from=`: the stage or image the bind/cache source comes from.
    public var from: String?
    /// `source=`/`src=`.
    public var source: String?
    /// `target=`/`dst=`/`destination=`.
    public var target: String?
    /// `ro`/`readonly` or `rw`/`readwrite`; defaults to read-only except for cache and tmpfs.
    public var readOnly: Bool = true
    /// `size=` for tmpfs, in bytes.
    public var sizeLimit: Int64?
    /// `id=`: the cache id or the secret/ssh id.
    public var id: String?
    public var sharing: Sharing?
    /// `required` for secret and ssh mounts.
    public var required: Bool = false
    /// `mode=` (octal), `uid=`, `gid=` for secret, ssh and cache mounts.
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    /// `env=`: expose a secret as this environment variable.
    public var env: String?
    /// The flag value as written, for history.
    public var raw: String

    static let keys = [
        "type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode",
        "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env",
    ]

    /// Parses one `--mount` value; `expand` is applied to every value first (identity at
    /// parse time, the stage environment when expanded).
    init(parsing raw: String, expand: (String) throws -> String) throws {
        self.raw = raw
        var readOnlyGiven = false
        for field in try Self.csvFields(raw) {
            let equals = field.firstIndex(of: "=")
            let key = String(equals.map { field[..<$0] } ?? field[...]).lowercased()
            guard let equals else {
                switch key {
                case "readonly", "ro":
                    readOnly = true
                    readOnlyGiven = true
                case "readwrite", "rw":
                    readOnly = false
                    readOnlyGiven = true
                case "required":
                    guard type == .secret || type == .ssh else {
                        throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'")
                    }
                    required = true
                default: throw MountError("invalid field '\(field)' must be a key=value pair")
                }
                continue
            }
            let value = try expand(String(field[field.index(after: equals)...]))
            switch key {
            case "type":
                guard let parsed = MountType(rawValue: value.lowercased()) else {
                    throw MountError(
                        "unsupported mount type \"\(value)\"",
                        suggestion: Suggestion.nearest(to: value, in: MountType.allCases.map(\.rawValue)))
                }
                type = parsed
            case "from": from = value
            case "source", "src": source = value
            case "target", "dst", "destination": target = value
            case "readonly", "ro":
                readOnly = try Self.bool(value, key)
                readOnlyGiven = true
            case "readwrite", "rw":
                readOnly = !(try Self.bool(value, key))
                readOnlyGiven = true
            case "required":
                guard type == .secret || type == .ssh else { throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'") }
                required = try Self.bool(value, key)
            case "size":
                guard type == .tmpfs else { throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'") }
                guard let bytes = ByteSize.parse(value) else { throw MountError("invalid value for \(key): \(value)") }
                sizeLimit = bytes
            case "id": id = value
            case "sharing":
                guard let parsed = Sharing(rawValue: value.lowercased()) else {
                    throw MountError(
                        "unsupported sharing value \"\(value)\"",
                        suggestion: Suggestion.nearest(to: value, in: Sharing.allCases.map(\.rawValue)))
                }
                sharing = parsed
            case "mode":
                guard let parsed = UInt32(value, radix: 8) else { throw MountError("invalid value \(value) for mode") }
                mode = parsed
            case "uid":
                guard let parsed = UInt32(value) else { throw MountError("invalid value \(value) for uid") }
                uid = parsed
            case "gid":
                guard let parsed = UInt32(value) else { throw MountError("invalid value \(value) for gid") }
                gid = parsed
            case "env": env = value
            default:
                throw MountError("unexpected key '\(key)' in '\(field)'", suggestion: Suggestion.nearest(to: key, in: Self.keys))
            }
        }
        try validate(readOnlyGiven: readOnlyGiven)
    }

    private mutating func validate(readOnlyGiven: Bool) throws {
        if !(type == .secret || type == .ssh || type == .cache) {
            if mode != nil { throw MountError("mode not allowed for \"\(type.rawValue)\" type mounts") }
            if uid != nil { throw MountError("uid not allowed for \"\(type.rawValue)\" type mounts") }
            if gid != nil { throw MountError("gid not allowed for \"\(type.rawValue)\" type mounts") }
        }
        if !readOnlyGiven { readOnly = !(type == .cache || type == .tmpfs) }
        if type == .secret {
            if from != nil { throw MountError("secret mount should not have a from") }
            if sharing != nil { throw MountError("secret mount should not define sharing") }
            if source == nil && target == nil && id == nil { throw MountError("invalid secret mount. one of source, target required") }
            if source != nil && id != nil { throw MountError("both source and id can't be set") }
        }
        if sharing != nil && type != .cache { throw MountError("invalid cache sharing set for \(type.rawValue) mount") }
        if type == .ssh && source != nil { throw MountError("ssh does not support source") }
        // BuildKit falls back to the working directory and then refuses `/`; kiln asks for the
        // target outright (BuildKit's documentation marks it required).
        if (type == .bind || type == .cache || type == .tmpfs) && (target ?? "").isEmpty {
            throw MountError("invalid mount target \"\": target is required for \(type.rawValue) mounts")
        }
    }

    private static func bool(_ value: String, _ key: String) throws -> Bool {
        switch value.lowercased() {
        case "1", "t", "true": return true
        case "0", "f", "false": return false
        default: throw MountError("invalid value for \(key): \(value)")
        }
    }

    /// Splits a CSV record: commas separate fields, double quotes group (`""` is a quote).
    static func csvFields(_ text: String) throws -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text).makeIterator()
        while let ch = chars.next() {
            if quoted {
                if ch == "\"" {
                    quoted = false
                } else {
                    field.append(ch)
                }
            } else if ch == "," {
                fields.append(field)
                field = ""
                continue
            } else if ch == "\"" {
                quoted = true
            } else {
                field.append(ch)
            }
        }
        if quoted { throw MountError("failed to parse csv mounts: unterminated quote in '\(text)'") }
        fields.append(field)
        return fields
    }
}

/// A problem inside one `--mount` value; the parser attaches the location.
struct MountError: Error {
    var message: String
    var suggestion: String?
    init(_ message: String, suggestion: String? = nil) {
        self.message = message
        self.suggestion = suggestion
    }
}

/// Sizes like `64m`, `1g`, `512k`, `100` (bytes), with 1024 multiples as docker's
/// `units.RAMInBytes`; `nil` for a size that does not fit in an `Int64`.
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let lower = text.lowercased().trimmingWhitespace()
        var digits = ""
        var rest = Substring(lower)
        while let ch = rest.first, ch.isASCII, ch.isNumber || ch == "." {
            digits.append(ch)
            rest = rest.dropFirst()
        }
        guard let number = Double(digits) else { return nil }
        let unit = rest.hasSuffix("ib") ? String(rest.dropLast(2)) : (rest.hasSuffix("b") ? String(rest.dropLast()) : String(rest))
        let multipliers: [String: Double] = [
            "": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776, "p": 1_125_899_906_842_624,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        // Beyond Int64 the conversion would trap; no tmpfs is that large.
        let bytes = number * multiplier
        guard bytes.isFinite, bytes < 9_223_372_036_854_775_807 else { return nil }
        return Int64(bytes)
    }
}
