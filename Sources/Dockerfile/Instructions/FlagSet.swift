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

/// Go's `time.ParseDuration`, in nanoseconds: `1h30m`, `1.5s`, `300ms`, `0`.
enum GoDuration {
    static func nanoseconds(_ text: String) -> Int64? {
        var chars = Array(text)[...]
        var sign: Double = 1
        if let first = chars.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            chars = chars.dropFirst()
        }
        if chars == ["0"] { return 0 }
        if chars.isEmpty { return nil }
        let units: [String: Double] = ["ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 6e10, "h": 3.6e12]
        var total: Double = 0
        while !chars.isEmpty {
            var number = ""
            while let ch = chars.first, ch.isASCII, ch.isNumber || ch == "." {
                number.append(ch)
                chars = chars.dropFirst()
            }
            var unit = ""
            while let ch = chars.first, !(ch.isASCII && (ch.isNumber || ch == ".")) {
                unit.append(ch)
                chars = chars.dropFirst()
            }
            guard number != ".", !number.isEmpty, let value = Double(number.hasPrefix(".") ? "0" + number : number),
                let scale = units[unit]
            else { return nil }
            total += value * scale
        }
        return Int64(sign * total)
    }
}
