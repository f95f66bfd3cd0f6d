// A strict reader for the exec form `["a", "b"]`, following Go's encoding/json: any JSON
// value is accepted by the grammar, but only an array of strings is an exec form.

enum JSONArray {
    enum Result {
        case strings([String])
        /// Valid JSON array holding something other than strings.
        case notStrings
        /// Not a JSON array at all (the line is shell form).
        case invalid
    }

    static func parse(_ text: String) -> Result {
        var reader = Reader(Array(text.unicodeScalars))
        reader.skipWhitespace()
        guard reader.peek == "[" else { return .invalid }
        guard let value = reader.value() else { return .invalid }
        reader.skipWhitespace()
        guard reader.atEnd else { return .invalid }
        guard case .array(let elements) = value else { return .invalid }
        var strings: [String] = []
        for element in elements {
            guard case .string(let string) = element else { return .notStrings }
            strings.append(string)
        }
        return .strings(strings)
    }

    indirect enum Value {
        case string(String)
        case array([Value])
        case other
    }

    struct Reader {
        let scalars: [Unicode.Scalar]
        var pos = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var atEnd: Bool { pos >= scalars.count }
        var peek: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

        mutating func skipWhitespace() {
            while let s = peek, s == " " || s == "\t" || s == "\n" || s == "\r" { pos += 1 }
        }

        mutating func value() -> Value? {
            skipWhitespace()
            guard let s = peek else { return nil }
            switch s {
            case "\"": return string().map(Value.string)
            case "[":
                pos += 1
                var elements: [Value] = []
                skipWhitespace()
                if peek == "]" {
                    pos += 1
                    return .array(elements)
                }
                while true {
                    guard let element = value() else { return nil }
                    elements.append(element)
                    skipWhitespace()
                    guard let next = peek else { return nil }
                    pos += 1
                    if next == "]" { return .array(elements) }
                    guard next == "," else { return nil }
                }
            case "{":
                pos += 1
                skipWhitespace()
                if peek == "}" {
                    pos += 1
                    return .other
                }
                while true {
                    skipWhitespace()
                    guard peek == "\"", string() != nil else { return nil }
                    skipWhitespace()
                    guard peek == ":" else { return nil }
                    pos += 1
                    guard value() != nil else { return nil }
                    skipWhitespace()
                    guard let next = peek else { return nil }
                    pos += 1
                    if next == "}" { return .other }
                    guard next == "," else { return nil }
                }
            case "t": return literal("true")
            case "f": return literal("false")
            case "n": return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: String) -> Value? {
            for expected in word.unicodeScalars {
                guard peek == expected else { return nil }
                pos += 1
            }
            return .other
        }

        mutating func number() -> Value? {
            let start = pos
            if peek == "-" { pos += 1 }
            guard let first = peek, ("0"..."9").contains(first) else { return nil }
            if first == "0" {
                pos += 1
            } else {
                while let d = peek, ("0"..."9").contains(d) { pos += 1 }
            }
            if peek == "." {
                pos += 1
                guard let d = peek, ("0"..."9").contains(d) else { return nil }
                while let d = peek, ("0"..."9").contains(d) { pos += 1 }
            }
            if peek == "e" || peek == "E" {
                pos += 1
                if peek == "+" || peek == "-" { pos += 1 }
                guard let d = peek, ("0"..."9").contains(d) else { return nil }
                while let d = peek, ("0"..."9").contains(d) { pos += 1 }
            }
            return pos > start ? .other : nil
        }

        mutating func string() -> String? {
            pos += 1
            var result = String.UnicodeScalarView()
            while let s = peek {
                pos += 1
                switch s {
                case "\"": return String(result)
                case "\\":
                    guard let e = peek else { return nil }
                    pos += 1
                    switch e {
                    case "\"", "\\", "/": result.append(e)
                    case "b": result.append("\u{8}")
                    case "f": result.append("\u{C}")
                    case "n": result.append("\n")
                    case "r": result.append("\r")
                    case "t": result.append("\t")
                    case "u":
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code), peek == "\\", pos + 1 < scalars.count, scalars[pos + 1] == "u" {
                            let save = pos
                            pos += 2
                            if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                pos = save
                            }
                        }
                        result.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    default: return nil
                    }
                default:
                    guard s.value >= 0x20 else { return nil }
                    result.append(s)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard pos + 4 <= scalars.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = Int(String(scalars[pos]), radix: 16) else { return nil }
                value = value * 16 + UInt32(digit)
                pos += 1
            }
            return value
        }
    }
}
