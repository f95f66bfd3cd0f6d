// ARGs Docker provides without a declaration: the platform family and the proxy family.

/// The predefined build arguments.
public enum PredefinedArguments {
    /// Proxy settings: accepted as `--build-arg` without an ARG, passed to RUN, and kept out of
    /// the image history and config unless the Dockerfile declares them.
    public static let proxyNames: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ]

    /// Whether `name` is one of the proxy arguments (exact spelling, as Docker checks).
    public static func isProxy(_ name: String) -> Bool { proxyNames.contains(name) }

    /// `TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, `TARGETVARIANT`, `BUILDPLATFORM`, `BUILDOS`,
    /// `BUILDARCH`, `BUILDVARIANT` for platforms written `os/arch[/variant]`.
    ///
    /// Platforms are normalised as containerd does (`aarch64` → `arm64`, `arm64/v8` → `arm64`,
    /// `arm` → `arm/v7`, `x86_64` → `amd64`), so `linux/arm64/v8` gives `TARGETPLATFORM=linux/arm64`
    /// and an empty `TARGETVARIANT`, as `docker build` does.
    /// - Throws: `DockerfileError` (no location) when a platform lacks an OS or architecture.
    public static func platform(target: String, build: String) throws -> [String: String] {
        let t = try NormalizedPlatform(target)
        let b = try NormalizedPlatform(build)
        return [
            "TARGETPLATFORM": t.description, "TARGETOS": t.os, "TARGETARCH": t.architecture, "TARGETVARIANT": t.variant,
            "BUILDPLATFORM": b.description, "BUILDOS": b.os, "BUILDARCH": b.architecture, "BUILDVARIANT": b.variant,
        ]
    }
}

/// An `os/arch[/variant]` string normalised with containerd's rules.
struct NormalizedPlatform: CustomStringConvertible {
    var os: String
    var architecture: String
    var variant: String

    init(_ text: String) throws {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts.count <= 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw DockerfileError(
                "invalid platform '\(text)': expected os/arch or os/arch/variant, like linux/amd64 or linux/arm/v7", at: nil)
        }
        os = parts[0] == "macos" ? "darwin" : parts[0]
        (architecture, variant) = Self.normalize(arch: parts[1], variant: parts.count == 3 ? parts[2] : "")
    }

    static func normalize(arch: String, variant: String) -> (String, String) {
        switch arch {
        case "i386": return ("386", "")
        case "x86_64", "x86-64", "amd64": return ("amd64", variant == "v1" ? "" : variant)
        case "aarch64", "arm64":
            switch variant {
            case "8", "v8", "v8.0": return ("arm64", "")
            case "9", "9.0", "v9.0": return ("arm64", "v9")
            default: return ("arm64", variant)
            }
        case "armhf": return ("arm", "v7")
        case "armel": return ("arm", "v6")
        case "arm":
            switch variant {
            case "", "7": return ("arm", "v7")
            case "5", "6", "8": return ("arm", "v" + variant)
            default: return ("arm", variant)
            }
        default: return (arch, variant)
        }
    }

    var description: String { variant.isEmpty ? "\(os)/\(architecture)" : "\(os)/\(architecture)/\(variant)" }
}
