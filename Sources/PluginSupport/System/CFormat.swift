// printf-style formatting for numbers in messages (Foundation's String(format:) is not in
// FoundationEssentials).
import Glibc

extension String {
    /// `format` as C's printf reads it, with `arguments` (numbers and C strings only; no `%@`).
    public init(cFormat format: String, _ arguments: any CVarArg...) {
        self = Self.formatted(format, arguments)
    }

    private static func formatted(_ format: String, _ arguments: [any CVarArg]) -> String {
        var capacity = 64
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let needed = Int(withVaList(arguments) { vsnprintf(&buffer, capacity, format, $0) })
            if needed < capacity {
                return String(decoding: buffer.prefix(Swift.max(0, needed)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = needed + 1
        }
    }
}
