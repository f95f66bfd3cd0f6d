// Mirrors OCI image-spec 1.1 `descriptor.md` § Digests: `algorithm ":" encoded`.

/// A content digest such as `sha256:0123…`. Validated on construction; decoding goes through
/// the same check, so a `Digest` value is always well formed.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public enum Algorithm: String, Sendable, Codable {
        case sha256, sha512
        var hexLength: Int { self == .sha256 ? 64 : 128 }
    }

    public let algorithm: Algorithm
    /// Lower-case hex encoding of the hash.
    public let encoded: String

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case malformed(String)
        public var description: String {
            switch self {
            case .malformed(let s): return "invalid digest '\(s)': expected sha256:<64 hex> or sha512:<128 hex>"
            }
        }
    }

    /// Parses `algorithm:hex`. Throws `ParseError.malformed` for unknown algorithms, wrong
    /// lengths or upper-case/non-hex characters.
    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":"),
            let algorithm = Algorithm(rawValue: String(text[..<colon]))
        else { throw ParseError.malformed(text) }
        let hex = String(text[text.index(after: colon)...])
        guard hex.utf8.count == algorithm.hexLength,
            hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { throw ParseError.malformed(text) }
        self.algorithm = algorithm
        self.encoded = hex
    }

    public init(sha256Hex hex: String) throws { try self.init(parsing: "sha256:" + hex) }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (a: Digest, b: Digest) -> Bool { a.description < b.description }

    /// The SHA-256 digest of `bytes`.

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Digest {
    /// A SHA-256 digest from the hash's 32 raw bytes (as a hasher returns them).
    ///
    /// - Precondition: `raw.count == 32`.
    public init(sha256Bytes raw: [UInt8]) {
        precondition(raw.count == 32, "a SHA-256 hash has 32 bytes, not \(raw.count)")
        let table = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for b in raw {
            hex.append(table[Int(b >> 4)])
            hex.append(table[Int(b & 0xF)])
        }
        self.algorithm = .sha256
        self.encoded = String(decoding: hex, as: UTF8.self)
    }
}
