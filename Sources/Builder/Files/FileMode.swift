/// A `--chmod` value: octal (`0755`, `644`) or symbolic (`u+x,go-w`, `a=rX`), applied as
/// chmod(1) would.
public struct ChmodSpec: Sendable, Hashable, CustomStringConvertible {
    enum Form: Sendable, Hashable {
        case octal(UInt32)
        case symbolic([Clause])
    }

    struct Clause: Sendable, Hashable {
        var who: UInt32  // mask of the bits the clause touches
        var op: Character
        var perms: String
    }

    let form: Form
    public let description: String

    public enum Error: Swift.Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self {
            case .invalid(let s): return "invalid --chmod value '\(s)': use octal (0755) or symbolic (u+x,go-w)"
            }
        }
    }

    public init(parsing text: String) throws {
        description = text
        if !text.isEmpty, text.allSatisfy({ ("0"..."7").contains($0) }), let v = UInt32(text, radix: 8), v <= 0o7777 {
            form = .octal(v)
            return
        }
        var clauses: [Clause] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let opIndex = part.firstIndex(where: { "+-=".contains($0) }) else { throw Error.invalid(text) }
            let whoText = part[..<opIndex]
            var who: UInt32 = 0
            for c in whoText {
                switch c {
                case "u": who |= 0o4700
                case "g": who |= 0o2070
                case "o": who |= 0o1007
                case "a": who |= 0o7777
                default: throw Error.invalid(text)
                }
            }
            if whoText.isEmpty { who = 0o7777 }
            let perms = String(part[part.index(after: opIndex)...])
            guard perms.allSatisfy({ "rwxXst".contains($0) }) else { throw Error.invalid(text) }
            clauses.append(Clause(who: who, op: part[opIndex], perms: perms))
        }
        guard !clauses.isEmpty else { throw Error.invalid(text) }
        form = .symbolic(clauses)
    }

    /// The permission bits for a file that had `mode` (permission bits only).
    public func apply(to mode: UInt32, isDirectory: Bool) -> UInt32 {
        switch form {
        case .octal(let v):
            return v
        case .symbolic(let clauses):
            var m = mode & 0o7777
            for c in clauses {
                var bits: UInt32 = 0
                for p in c.perms {
                    switch p {
                    case "r": bits |= 0o444
                    case "w": bits |= 0o222
                    case "x": bits |= 0o111
                    case "X": if isDirectory || m & 0o111 != 0 { bits |= 0o111 }
                    case "s": bits |= 0o6000
                    case "t": bits |= 0o1000
                    default: break
                    }
                }
                bits &= c.who
                switch c.op {
                case "+": m |= bits
                case "-": m &= ~bits
                default: m = (m & ~(c.who & 0o777)) | bits
                }
            }
            return m
        }
    }
}
