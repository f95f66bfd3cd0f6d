// SHA-256 for content digests: streaming, over OpenSSL's EVP interface.
internal import CKilnCrypto
import PluginAPI

/// Streaming SHA-256 over OpenSSL's EVP interface (uses SHA-NI where the CPU has it:
/// 1.4–1.7 GiB/s here, research/swift-feasibility.md §4).
public struct SHA256Hasher: ~Copyable {
    private let ctx: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        self.ctx = ctx
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(ctx, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Ends the hash. The hasher must not be used afterwards.
    public consuming func finalize() -> Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        return Digest(sha256Bytes: out)
    }
}

extension Digest {
    /// The SHA-256 digest of `bytes`.
    public static func sha256<C: Collection>(of bytes: C) -> Digest where C.Element == UInt8 {
        var h = SHA256Hasher()
        h.update(Array(bytes))
        return h.finalize()
    }

    /// The SHA-256 digest of a string's UTF-8 bytes.
    public static func sha256(of string: String) -> Digest { sha256(of: Array(string.utf8)) }
}

extension Descriptor {
    /// A descriptor for bytes held in memory.
    public init(mediaType: MediaType, bytes: [UInt8]) {
        self.init(mediaType: mediaType, digest: .sha256(of: bytes), size: Int64(bytes.count))
    }
}
