// Where kiln runs decides how RUN may run: isolated (namespaces, chroot, seccomp) when the kernel
// lets it, else in place — but in place only inside a container, where `/` is disposable.
import CRunner
import FoundationEssentials

/// What the machine allows and what kind of place it is.
public enum IsolationProbe {
    /// True when RUN can have its own namespaces here (CAP_SYS_ADMIN, no seccomp refusal).
    public static func canIsolate() -> Bool { kiln_can_isolate() == 1 }

    /// Why this looks like a container (`/.dockerenv`, `/run/.containerenv`, a container's
    /// cgroup, Kubernetes' environment), or nil when nothing says so. kaniko checks the first
    /// and the cgroup; the others catch podman and Kubernetes pods kaniko misses.
    public static func containerEvidence(
        environment: [String: String] = ProcessInfo.processInfo.environment, root: String = "/"
    ) -> String? {
        let prefix = root == "/" ? "" : root
        if FileManager.default.fileExists(atPath: prefix + "/.dockerenv") { return "/.dockerenv exists" }
        if FileManager.default.fileExists(atPath: prefix + "/run/.containerenv") { return "/run/.containerenv exists (podman)" }
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty { return "KUBERNETES_SERVICE_HOST is set" }
        for file in ["/proc/1/cgroup", "/proc/self/cgroup"] {
            guard let text = try? String(contentsOfFile: prefix + file, encoding: .utf8) else { continue }
            for marker in ["docker", "kubepods", "containerd", "libpod", "lxc", "buildkit"] where text.contains(marker) {
                return "\(file) names \(marker)"
            }
        }
        return nil
    }
}
