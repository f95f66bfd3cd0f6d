// Debian's podman (4.3, runc) running images kiln built, with its image store in a temporary
// directory so pulled images never linger in the machine's store.
import Foundation

/// A podman whose `--root`, `--runroot` and `--tmpdir` live in a temporary directory.
public final class Podman: Sendable {
    public enum Error: Swift.Error, CustomStringConvertible {
        case notConfigured(String, missing: [String])
        public var description: String {
            switch self {
            case .notConfigured(let path, let missing):
                return "\(path) lacks \(missing.joined(separator: ", ")) even after scripts/setup.sh --tests: "
                    + "podman needs runc, cgroupfs, file events, host netns and explicit ulimits here"
            }
        }
    }

    public let directory: FixtureDirectory

    var storageArguments: [String] {
        ["--root", directory.file("root"), "--runroot", directory.file("runroot"), "--tmpdir", directory.file("tmp")]
    }

    /// The containers.conf settings podman needs on this kind of machine (no systemd, hybrid
    /// cgroups, no CAP_SYS_RESOURCE): each is a line `scripts/setup.sh --tests` writes.
    static let requiredSettings = [
        #"runtime = "runc""#, #"cgroup_manager = "cgroupfs""#, #"events_logger = "file""#, #"netns = "host""#,
        "nofile=20000:20000", "nproc=32768:32768",
    ]

    /// Checks podman and its configuration (running `scripts/setup.sh --tests` when
    /// `/etc/containers/containers.conf` lacks a setting), then makes the storage directory.
    public static func make() async throws -> Podman {
        _ = try ExecutableLookup.require("podman")
        let conf = "/etc/containers/containers.conf"
        if !missingSettings(conf).isEmpty {
            try await ProcessRunner.check("bash", [BuildProducts.packageRoot + "/scripts/setup.sh", "--tests"], timeout: 900)
            let missing = missingSettings(conf)
            guard missing.isEmpty else { throw Error.notConfigured(conf, missing: missing) }
        }
        return Podman(directory: try FixtureDirectory(prefix: "kiln-podman"))
    }

    private init(directory: FixtureDirectory) { self.directory = directory }

    static func missingSettings(_ path: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return requiredSettings.filter { !text.contains($0) }
    }

    /// `podman run --rm --tls-verify=false [options] IMAGE [arguments]`: pulls from a test
    /// registry over plain HTTP. Returns the result whatever the exit code.
    public func run(_ image: String, _ arguments: [String] = [], options: [String] = []) async throws -> ProcessResult {
        try await ProcessRunner.run(
            "podman", storageArguments + ["run", "--rm", "--tls-verify=false"] + options + [image] + arguments,
            timeout: 300)
    }

    /// `podman [this store's options] arguments…` (`load`, `kube play`, `wait`, `logs`…).
    /// Returns the result whatever the exit code.
    public func command(_ arguments: [String], timeout: Double = 300) async throws -> ProcessResult {
        try await ProcessRunner.run("podman", storageArguments + arguments, timeout: timeout)
    }

    /// Removes every image pulled into this store (`podman rmi --all --force`), then the store.
    public func remove() async {
        _ = try? await ProcessRunner.run("podman", storageArguments + ["rmi", "--all", "--force"])
        for mount in Buildah.mounts(under: directory.path).reversed() {
            _ = try? await ProcessRunner.run("umount", ["-l", mount])
        }
        directory.remove()
    }
}
