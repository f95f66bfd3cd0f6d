// Mirrors OCI image-spec 1.1 `image-index.md` § platform, with containerd's normalisation rules.

/// A target platform such as `linux/arm64/v8`.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case malformed(String)
        public var description: String {
            switch self {
            case .malformed(let s): return "invalid platform '\(s)': expected os/arch[/variant], e.g. linux/arm64"
            }
        }
    }

    /// Parses `os/arch[/variant]` and normalises architecture aliases
    /// (`x86_64`→`amd64`, `aarch64`→`arm64`, `armhf`→`arm/v7`…), as containerd does.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // Each part matches containerd's specifier `^[A-Za-z0-9_.-]+$`.
        let allowed = { (c: Unicode.Scalar) in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "." || c == "-")
        }
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy(allowed) }) else {
            throw ParseError.malformed(text)
        }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(), variant: parts.count == 3 ? parts[2].lowercased() : nil)
        self = normalized
    }

    /// containerd-style normalisation of architecture and variant.
    public var normalized: Platform {
        var p = self
        // containerd/platforms database.go `normalizeArch`, except that arm64's v8 and amd64's
        // v1 are dropped and arm's v7 is kept, so each platform has exactly one spelling.
        switch p.architecture {
        case "x86_64", "x86-64": p.architecture = "amd64"
        case "aarch64": p.architecture = "arm64"
        case "armhf":
            p.architecture = "arm"
            p.variant = "v7"
        case "armel":
            p.architecture = "arm"
            p.variant = "v6"
        case "i386", "i686":
            p.architecture = "386"
            p.variant = nil
        default: break
        }
        if p.architecture == "arm64", p.variant == "v8" || p.variant == "8" { p.variant = nil }
        if p.architecture == "arm" {
            switch p.variant {
            case nil, "7": p.variant = "v7"
            case "5", "6", "8": p.variant = "v" + (p.variant ?? "")
            default: break
            }
        }
        if p.architecture == "amd64", p.variant == "v1" { p.variant = nil }
        return p
    }

    /// True when an image for `self` satisfies a request for `wanted` (variant-insensitive when the
    /// image does not state one).
    public func matches(_ wanted: Platform) -> Bool {
        let a = normalized
        let b = wanted.normalized
        guard a.os == b.os, a.architecture == b.architecture else { return false }
        if let v = b.variant, let mine = a.variant { return v == mine }
        return true
    }

    public var description: String {
        variant.map { "\(os)/\(architecture)/\($0)" } ?? "\(os)/\(architecture)"
    }

    /// The platform of the running machine.
    public static var host: Platform {
        #if arch(x86_64)
            return Platform(os: "linux", architecture: "amd64")
        #elseif arch(arm64)
            return Platform(os: "linux", architecture: "arm64")
        #elseif arch(arm)
            return Platform(os: "linux", architecture: "arm", variant: "v7")
        #elseif arch(s390x)
            return Platform(os: "linux", architecture: "s390x")
        #elseif arch(powerpc64le)
            return Platform(os: "linux", architecture: "ppc64le")
        #elseif arch(riscv64)
            return Platform(os: "linux", architecture: "riscv64")
        #else
            return Platform(os: "linux", architecture: "unknown")
        #endif
    }
}
