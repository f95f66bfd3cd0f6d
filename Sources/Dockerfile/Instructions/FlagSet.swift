// Builder flags (`--name=value`) of one instruction, checked against what it accepts
// (BuildKit `instructions/bflag.go`).

/// The parsed flags of one instruction.
struct FlagSet {
    enum Kind {
        case bool
        case string
        case strings
    }

    private var strings: [String: [String]] = [:]
    private var bools: [String: Bool] = [:]
    /// Where each flag was written (the last occurrence for repeatable ones).
    private(set) var offsets: [String: Int] = [:]
    /// Where each value of a repeatable flag was written, in order.
    private(set) var valueOffsets: [String: [Int]] = [:]

    /// Parses `words` for `keyword`; `allowed` lists names (without `--`) in the order used
    /// for suggestions. Throws a located `DockerfileError` naming the offending flag.
    init(_ words: [FlagWord], keyword: String, allowed: [(String, Kind)], locate: (Int) -> SourceLocation) throws {
        let kinds = Dictionary(allowed, uniquingKeysWith: { first, _ in first })
        for word in words {
            let flagName: String
            let value: String?
            if let equals = word.text.firstIndex(of: "=") {
                flagName = String(word.text[..<equals])
                value = String(word.text[word.text.index(after: equals)...])
            } else {
                flagName = word.text
                value = nil
            }
            let name = String(flagName.dropFirst(2))
            let here = locate(word.offset)
            guard let kind = kinds[name] else {
                throw DockerfileError(
                    "unknown flag '\(flagName)' for \(keyword)", at: here,
                    suggestion: Suggestion.nearest(to: name, in: allowed.map(\.0), caseSensitive: true).map { "--" + $0 })
            }
            if offsets[name] != nil && kind != .strings {
                throw DockerfileError("duplicate flag specified: \(flagName)", at: here)
            }
            offsets[name] = word.offset
            switch kind {
            case .bool:
                switch value?.lowercased() {
                case nil, "true": bools[name] = true
                case "false": bools[name] = false
                case "": throw DockerfileError("missing a value on flag: \(flagName)", at: here)
                case let other?:
                    throw DockerfileError("expecting boolean value for flag \(flagName), not: \(other)", at: here)
                }
            case .string, .strings:
                guard let value else { throw DockerfileError("missing a value on flag: \(flagName)", at: here) }
                strings[name, default: []].append(value)
                valueOffsets[name, default: []].append(word.offset)
            }
        }
    }

    func string(_ name: String) -> String? { strings[name]?.last }
    func all(_ name: String) -> [String] { strings[name] ?? [] }
    func bool(_ name: String) -> Bool { bools[name] ?? false }
    /// `nil` when the flag was not given.
    func optionalBool(_ name: String) -> Bool? { bools[name] }
}

/// Go's `time.ParseDuration`, in nanoseconds: `1h30m`, `1.5s`, `300ms`, `0`. Integer
/// arithmetic with Go's overflow rules, so anything beyond ±2562047h47m16.854775807s is `nil`
/// (an invalid duration, as in Go) rather than a trap.
enum GoDuration {
    private static let units: [String: UInt64] = [
        "ns": 1, "us": 1_000, "\u{B5}s": 1_000, "\u{3BC}s": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
        "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]
    private static let limit: UInt64 = 1 << 63

    static func nanoseconds(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        if bytes.elementsEqual([UInt8(ascii: "0")]) { return 0 }
        if bytes.isEmpty { return nil }
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        var total: UInt64 = 0
        while let first = bytes.first {
            guard first == UInt8(ascii: ".") || isDigit(first) else { return nil }
            // The integer part: at most 2^63, as Go's leadingInt.
            var whole: UInt64 = 0
            let wholeStart = bytes.count
            while let b = bytes.first, isDigit(b) {
                guard whole <= limit / 10 else { return nil }
                whole = whole * 10 + UInt64(b - UInt8(ascii: "0"))
                guard whole <= limit else { return nil }
                bytes = bytes.dropFirst()
            }
            let hadWhole = bytes.count != wholeStart
            // The fraction: digits past what fits are ignored, as Go's leadingFraction.
            var fraction: UInt64 = 0
            var scale: Double = 1
            var hadFraction = false
            if bytes.first == UInt8(ascii: ".") {
                bytes = bytes.dropFirst()
                var overflow = false
                while let b = bytes.first, isDigit(b) {
                    bytes = bytes.dropFirst()
                    hadFraction = true
                    if overflow { continue }
                    guard fraction <= (limit - 1) / 10 else {
                        overflow = true
                        continue
                    }
                    let next = fraction * 10 + UInt64(b - UInt8(ascii: "0"))
                    if next > limit {
                        overflow = true
                        continue
                    }
                    fraction = next
                    scale *= 10
                }
            }
            guard hadWhole || hadFraction else { return nil }
            let unitBytes = bytes.prefix(while: { !isDigit($0) && $0 != UInt8(ascii: ".") })
            bytes = bytes.dropFirst(unitBytes.count)
            guard !unitBytes.isEmpty, let unit = units[String(decoding: unitBytes, as: UTF8.self)] else { return nil }
            guard whole <= limit / unit else { return nil }
            var value = whole * unit
            if fraction > 0 {
                // At most 3.6e12 (an hour in nanoseconds): the Double is exact enough and fits.
                value += UInt64(Double(fraction) * (Double(unit) / scale))
                guard value <= limit else { return nil }
            }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow, sum <= limit else { return nil }
            total = sum
        }
        if negative { return total == limit ? Int64.min : -Int64(total) }
        guard total < limit else { return nil }
        return Int64(total)
    }
}
