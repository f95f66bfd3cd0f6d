import Foundation
import PluginAPI

/// Finds `qemu-<arch>-static` interpreters and reports which platforms can run here.
/// Registration with binfmt_misc (`prepare`/`release`) arrives with the multi-arch issue.
struct QEMUUserBackend: CrossBuildBackend {
    let name = "qemu"
    let log: @Sendable (LogLevel, String) -> Void

    /// QEMU's name for an OCI architecture.
    static func qemuArchitecture(for p: Platform) -> String? {
        switch p.normalized.architecture {
        case "amd64": return "x86_64"
        case "arm64": return "aarch64"
        case "arm": return "arm"
        case "386": return "i386"
        case "ppc64le": return "ppc64le"
        case "s390x": return "s390x"
        case "riscv64": return "riscv64"
        case "mips64le": return "mips64el"
        default: return nil
        }
    }

    func status(for platform: Platform) async -> CrossBuildStatus {
        if platform.normalized.architecture == Platform.host.architecture { return .native }
        guard let arch = Self.qemuArchitecture(for: platform) else {
            return .unavailable(reason: "QEMU has no user-mode emulator for \(platform)")
        }
        for dir in ["/usr/bin", "/usr/local/bin"] {
            let path = "\(dir)/qemu-\(arch)-static"
            if FileManager.default.isExecutableFile(atPath: path) { return .emulated(interpreter: path) }
        }
        return .unavailable(reason: "qemu-\(arch)-static not found: install Debian's qemu-user-static")
    }

    func prepare(for platform: Platform) async throws -> CrossBuildSession {
        switch await status(for: platform) {
        case .native: return CrossBuildSession(platform: platform, interpreter: nil, registeredEntries: [])
        case .emulated, .unavailable:
            throw CrossBuildError.notAvailableYet(platform)
        }
    }

    func release(_ session: CrossBuildSession) async throws {}
}

enum CrossBuildError: Error, CustomStringConvertible {
    case notAvailableYet(Platform)
    var description: String {
        switch self {
        case .notAvailableYet(let p):
            return "building for \(p) on this \(Platform.host) machine needs QEMU emulation, which is not available yet in this kiln"
        }
    }
}
