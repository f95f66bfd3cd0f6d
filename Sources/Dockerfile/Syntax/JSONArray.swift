// A strict reader for the exec form `["a", "b"]`, following Go's encoding/json: any JSON
// value is accepted by the grammar, but only an array of strings is an exec form.

enum JSONArray {
    /// Go's `encoding/json` refuses values nested deeper than this (its `maxNestingDepth`).
    static let maximumDepth = 10_000

    enum Result: Equatable {
        case strings([String])
        /// Valid JSON array holding something other than strings.
        case notStrings
        /// Not a JSON array at all (the line is shell form).
        case invalid
        /// Arrays or objects nested deeper than `maximumDepth`.
        case tooDeep
    }

    /// Reads `text` without recursion (nesting costs heap, never stack) and without building
    /// a tree of the nested values.
    static func parse(_ text: String) -> Result {
        var reader = Reader(Array(text.unicodeScalars))
        reader.skipWhitespace()
        guard reader.peek == "[" else { return .invalid }
        reader.pos += 1
        var strings: [String] = []
        var onlyStrings = true
        reader.skipWhitespace()
        if reader.peek == "]" {
            reader.pos += 1
        } else {
            while true {
                reader.skipWhitespace()
                if reader.peek == "\"" {
                    guard let string = reader.string() else { return .invalid }
                    strings.append(string)
                } else {
                    onlyStrings = false
                    switch reader.skipValue(depth: 1) {
                    case .valid: break
                    case .invalid: return .invalid
                    case .tooDeep: return .tooDeep
                    }
                }
                reader.skipWhitespace()
                guard let next = reader.peek else { return .invalid }
                reader.pos += 1
                if next == "]" { break }
                guard next == "," else { return .invalid }
            }
        }
        reader.skipWhitespace()
        guard reader.atEnd else { return .invalid }
        return onlyStrings ? .strings(strings) : .notStrings
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

        enum Skip { case valid, invalid, tooDeep }

        /// Skips one JSON value inside containers `depth` deep, keeping the open arrays and
        /// objects on an explicit stack.
        mutating func skipValue(depth: Int) -> Skip {
            var open: [Unicode.Scalar] = []
            // Reads `"key" :` inside an object; false when malformed.
            func key(_ reader: inout Reader) -> Bool {
                reader.skipWhitespace()
                guard reader.peek == "\"", reader.string() != nil else { return false }
                reader.skipWhitespace()
                guard reader.peek == ":" else { return false }
                reader.pos += 1
                return true
            }
            while true {
                // A value is expected here.
                skipWhitespace()
                guard let s = peek else { return .invalid }
                var closed = false
                switch s {
                case "[", "{":
                    pos += 1
                    open.append(s)
                    if depth + open.count > JSONArray.maximumDepth { return .tooDeep }
                    skipWhitespace()
                    if peek == (s == "[" ? "]" : "}") {
                        pos += 1
                        open.removeLast()
                        closed = true
                    } else if s == "{" {
                        guard key(&self) else { return .invalid }
                    }
                case "\"": guard string() != nil else { return .invalid }
                case "t": guard literal("true") else { return .invalid }
                case "f": guard literal("false") else { return .invalid }
                case "n": guard literal("null") else { return .invalid }
                default: guard number() else { return .invalid }
                }
                if !closed && (s == "[" || s == "{") { continue }
                // After a complete value: close containers or move to the next element.
                while true {
                    guard let container = open.last else { return .valid }
                    skipWhitespace()
                    guard let next = peek else { return .invalid }
                    pos += 1
                    if next == (container == "[" ? "]" : "}") {
                        open.removeLast()
                        continue
                    }
                    guard next == "," else { return .invalid }
                    if container == "{" { guard key(&self) else { return .invalid } }
                    break
                }
            }
        }

        mutating func literal(_ word: String) -> Bool {
            for expected in word.unicodeScalars {
                guard peek == expected else { return false }
                pos += 1
            }
            return true
        }

        mutating func number() -> Bool {
            let start = pos
            if peek == "-" { pos += 1 }
            guard let first = peek, ("0"..."9").contains(first) else { return false }
            if first == "0" {
                pos += 1
            } else {
                while let d = peek, ("0"..."9").contains(d) { pos += 1 }
            }
            if peek == "." {
                pos += 1
                guard let d = peek, ("0"..."9").contains(d) else { return false }
                while let d = peek, ("0"..."9").contains(d) { pos += 1 }
            }
            if peek == "e" || peek == "E" {
                pos += 1
                if peek == "+" || peek == "-" { pos += 1 }
                guard let d = peek, ("0"..."9").contains(d) else { return false }
                while let d = peek, ("0"..."9").contains(d) { pos += 1 }
            }
            return pos > start
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
