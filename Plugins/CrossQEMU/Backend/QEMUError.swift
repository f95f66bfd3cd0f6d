import Glibc
import PluginAPI

/// Why the QEMU backend cannot make a platform's binaries run, or could not undo what it did.
enum QEMUError: Error, CustomStringConvertible, Equatable {
    /// Neither an existing registration nor one kiln may make: `reason` names what is missing
    /// and the one command that provides it (from `status(for:)`).
    case unavailable(Platform, reason: String)
    /// A system call failed (`what` names it and its object).
    case system(String, errno: Int32)
    /// `prepare` was allowed to register but the kernel refused; `advice` is the fallback.
    case prepareFailed(Platform, cause: String, advice: String)
    /// `release` could not undo some of what the session did.
    case releaseFailed([String])

    var description: String {
        switch self {
        case .unavailable(let p, let reason):
            return "cannot run \(p) binaries on this \(Platform.host) machine: \(reason)"
        case .system(let what, let e):
            return "\(what): \(String(cString: strerror(e))) (errno \(e))"
        case .prepareFailed(let p, let cause, let advice):
            return "cannot set up QEMU emulation for \(p): \(cause); \(advice)"
        case .releaseFailed(let problems):
            return "could not undo the QEMU emulation set-up: " + problems.joined(separator: "; ")
        }
    }
}

/// The one command a user runs when kiln cannot register QEMU itself.
enum QEMUAdvice {
    /// Install Debian's statically linked emulators (what kiln registers from /usr/bin).
    static let install = "apt-get install qemu-user-static"

    /// A registration made on the host with the F flag, which then works inside unprivileged
    /// containers (the usual GitLab runner set-up).
    static func hostRegistration(_ arch: QEMUArchitecture) -> String {
        "register QEMU with the fix-binary (F) flag on the runner's host, once per boot: "
            + "`docker run --privileged --rm tonistiigi/binfmt --install \(arch.ociName)` "
            + "(GitLab: run it on the runner host, e.g. from a systemd unit, or in a job on a runner with "
            + "`privileged = true`; the registration then serves every job's container)"
    }
}
