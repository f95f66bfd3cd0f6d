// The step's output arrives in arbitrary chunks; the builder wants whole lines.

/// Splits a byte stream into lines (without the newline). A line longer than `limit` bytes is
/// cut, so a step printing megabytes without a newline cannot grow kiln's memory.
struct OutputLines {
    private var pending: [UInt8] = []
    let limit: Int

    init(limit: Int = 64 * 1024) {
        self.limit = limit
    }

    /// The complete lines in `bytes` together with what was pending.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= limit {
                    lines.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    /// The last line when the output did not end with a newline.
    mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}
