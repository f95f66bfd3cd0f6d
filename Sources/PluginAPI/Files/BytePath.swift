// A file name or path as Linux stores it: bytes. A Swift `String` cannot carry a name that is
// not valid UTF-8 (decoding replaces each bad byte with U+FFFD, so `caf\xE9` and `caf\xE8`
// become one name), and it compares by canonical equivalence (NFC `é` equals NFD `é`), so two
// distinct files can share one `String` key. kaniko and buildah carry Go strings, which are
// bytes; so does kiln, with this type, from the directory walk to the tar header.

/// A path (or one component) as raw bytes, never decoded: any byte but NUL, compared, hashed
/// and ordered bytewise (the order of `LC_ALL=C ls`, which puts a parent before its children).
///
/// Build one from a `String` (`BytePath("usr/bin")`, or a literal) where the name is known text
/// (a Dockerfile path), or from bytes read from the kernel or a tar header. `description`
/// shows the name for messages, with each byte that is not UTF-8 as `\xHH`.
public struct BytePath: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The bytes, without a terminating NUL.
    public var bytes: [UInt8]

    /// The UTF-8 bytes of `string`.
    public init(_ string: String) { bytes = Array(string.utf8) }

    /// The given bytes (which must not contain NUL: the kernel would cut the name there).
    public init(bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }

    public init(stringLiteral value: String) { self.init(value) }

    /// The empty path (the root, in a path relative to it).
    public static let empty = BytePath(bytes: [])

    public var isEmpty: Bool { bytes.isEmpty }

    /// The path as text when it is valid UTF-8, else nil.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// The path for messages: valid UTF-8 as is, every other byte as `\xHH`.
    public var description: String {
        if let s = string { return s }
        var out = ""
        var rest = bytes[...]
        while !rest.isEmpty {
            // Longest valid prefix, then one escaped byte.
            var end = rest.endIndex
            while end > rest.startIndex, String(validating: rest[rest.startIndex..<end], as: UTF8.self) == nil {
                end -= 1
            }
            if end > rest.startIndex {
                out += String(decoding: rest[rest.startIndex..<end], as: UTF8.self)
                rest = rest[end...]
            } else {
                let b = rest.removeFirst()
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// The path as text for matching with text patterns (`.dockerignore`, globs): each byte that
    /// is not UTF-8 becomes U+FFFD, as Go's regexp and `filepath.Match` read such bytes.
    public var lossyString: String { String(decoding: bytes, as: UTF8.self) }

    /// `self/component`, or `component` when `self` is empty.
    public func appending(_ component: BytePath) -> BytePath {
        if bytes.isEmpty { return component }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 1 + component.bytes.count)
        out += bytes
        out.append(Self.slash)
        out += component.bytes
        return BytePath(storage: out)
    }

    /// `self/component`, or `component` when `self` is empty.
    public func appending(_ component: String) -> BytePath { appending(BytePath(component)) }

    /// The part before the last `/` (empty when there is none).
    public var parent: BytePath {
        guard let slash = bytes.lastIndex(of: Self.slash) else { return .empty }
        return BytePath(storage: Array(bytes[..<slash]))
    }

    /// The part after the last `/` (the whole path when there is none).
    public var lastComponent: BytePath {
        guard let slash = bytes.lastIndex(of: Self.slash) else { return self }
        return BytePath(storage: Array(bytes[(slash + 1)...]))
    }

    /// The components between slashes, empty ones left out.
    public var components: [BytePath] {
        bytes.split(separator: Self.slash, omittingEmptySubsequences: true).map { BytePath(storage: Array($0)) }
    }

    /// The components joined with `/`.
    public init(joining components: some Sequence<BytePath>) {
        var out = [UInt8]()
        for c in components {
            if !out.isEmpty { out.append(Self.slash) }
            out += c.bytes
        }
        bytes = out
    }

    /// True when the bytes start with `prefix`'s.
    public func hasPrefix(_ prefix: BytePath) -> Bool { bytes.starts(with: prefix.bytes) }

    /// True when the bytes start with `prefix`'s UTF-8.
    public func hasPrefix(_ prefix: String) -> Bool { bytes.starts(with: prefix.utf8) }

    /// Calls `body` with the path as a NUL-terminated C string (on the stack for short paths).
    public func withCString<R, E: Error>(_ body: (UnsafePointer<CChar>) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { (buffer) throws(E) -> R in
            // baseAddress is non-nil: the capacity is at least 1.
            let base = buffer.baseAddress.unsafelyUnwrapped
            bytes.withUnsafeBytes { raw in
                if let source = raw.baseAddress { UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: raw.count) }
            }
            base[bytes.count] = 0
            return try body(UnsafePointer(base))
        }
    }

    public static func + (lhs: BytePath, rhs: BytePath) -> BytePath { BytePath(storage: lhs.bytes + rhs.bytes) }
    public static func + (lhs: BytePath, rhs: String) -> BytePath { BytePath(storage: lhs.bytes + Array(rhs.utf8)) }
    public static func + (lhs: String, rhs: BytePath) -> BytePath { BytePath(storage: Array(lhs.utf8) + rhs.bytes) }

    public static func == (a: BytePath, b: BytePath) -> Bool {
        a.bytes.count == b.bytes.count && compare(a, b) == 0
    }

    /// Bytewise order; a proper prefix comes first.
    public static func < (a: BytePath, b: BytePath) -> Bool { compare(a, b) < 0 }

    /// Negative, zero or positive as `a` sorts before, with or after `b` (memcmp's contract,
    /// over raw buffers: sorting and probing 100k paths stays a tight loop).
    private static func compare(_ a: BytePath, _ b: BytePath) -> Int {
        a.bytes.withUnsafeBufferPointer { x in
            b.bytes.withUnsafeBufferPointer { y in
                let n = Swift.min(x.count, y.count)
                var i = 0
                // Eight bytes at a time; big-endian words order as their bytes do.
                if let xb = x.baseAddress, let yb = y.baseAddress {
                    while i + 8 <= n {
                        let u = UnsafeRawPointer(xb + i).loadUnaligned(as: UInt64.self).bigEndian
                        let v = UnsafeRawPointer(yb + i).loadUnaligned(as: UInt64.self).bigEndian
                        if u != v { return u < v ? -1 : 1 }
                        i += 8
                    }
                }
                while i < n {
                    if x[i] != y[i] { return Int(x[i]) - Int(y[i]) }
                    i += 1
                }
                return x.count - y.count
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        // One bulk feed rather than Array's element-by-element hashing; the length keeps
        // `["ab", "c"]` and `["a", "bc"]` apart in composite keys.
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(bytes.count)
    }

    private init(storage: [UInt8]) { bytes = storage }
    private static let slash = UInt8(ascii: "/")
}
