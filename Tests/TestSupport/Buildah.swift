// Debian's buildah (1.28) as the reference builder for comparison tests, with its storage in a
// temporary directory so tests never touch (or depend on) the machine's image store.
import Foundation

/// A buildah whose `--root` and `--runroot` live in a temporary directory that `remove()`
/// deletes (after removing every image and working container in it).
public final class Buildah: Sendable {
    public let directory: FixtureDirectory

    /// Storage options passed before every subcommand. The overlay driver, as Debian's default
    /// and Docker's overlay2: a step's layer is its copied-up files, so every content change is
    /// seen (vfs diffs by size and mtime and misses a same-size, same-mtime rewrite). Its one
    /// artefact: copy-up splits a hard-linked file from its other names when a later step
    /// changes one name (overlayfs without `index=on`); comparisons check such paths apart.
    var storageArguments: [String] {
        ["--root", directory.file("root"), "--runroot", directory.file("runroot"), "--storage-driver", "overlay"]
    }

    /// Makes the storage directory; fails with what to install when buildah is missing.
    public init() throws {
        _ = try ExecutableLookup.require("buildah")
        directory = try FixtureDirectory(prefix: "kiln-buildah")
    }

    /// `buildah bud --isolation chroot --layers` of `dockerfile` in `context`, tagged `tag`.
    /// Pulls from test registries over plain HTTP (`--tls-verify=false`). Throws
    /// `ProcessRunner.Error.failed` with buildah's whole output when the build fails.
    @discardableResult
    public func bud(
        context: String, dockerfile: String, tag: String, buildArgs: [String: String] = [:],
        format: String = "oci", extraArguments: [String] = []
    ) async throws -> ProcessResult {
        var args =
            storageArguments + [
                "bud", "--isolation", "chroot", "--layers", "--format", format,
                "--tls-verify=false", "-f", dockerfile, "-t", tag,
            ]
        for (k, v) in buildArgs.sorted(by: { $0.key < $1.key }) { args += ["--build-arg", "\(k)=\(v)"] }
        args += extraArguments + [context]
        // buildah 1.28's chroot isolation sometimes fails to seal the memfd copy of itself
        // ("Close_Fd sealing memfd copy: Device or resource busy"), a race of its own with no
        // bearing on the image: try once more before calling the reference build failed.
        let first = try await ProcessRunner.run("buildah", args, environment: environment, timeout: 900)
        if first.succeeded { return first }
        guard first.stderr.contains("sealing memfd") else { throw ProcessRunner.Error.failed(first) }
        return try await ProcessRunner.check("buildah", args, environment: environment, timeout: 900)
    }

    /// `buildah push` of `image` to `destination` (`oci:/dir:tag` or `docker://host/repo:tag`).
    public func push(_ image: String, to destination: String) async throws {
        try await ProcessRunner.check(
            "buildah", storageArguments + ["push", "--quiet", "--tls-verify=false", image, destination],
            environment: environment, timeout: 600)
    }

    /// Removes every working container and image, then the storage directory. Overlay mounts
    /// buildah left behind (a killed build) are unmounted first so the directory can go.
    public func remove() async {
        _ = try? await ProcessRunner.run("buildah", storageArguments + ["rm", "--all"], environment: environment)
        _ = try? await ProcessRunner.run("buildah", storageArguments + ["rmi", "--all", "--force"], environment: environment)
        for mount in Self.mounts(under: directory.path).reversed() {
            _ = try? await ProcessRunner.run("umount", ["-l", mount])
        }
        directory.remove()
    }

    /// Mount points below `path`, from /proc/self/mountinfo, outermost first.
    static func mounts(under path: String) -> [String] {
        let info = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4])
            return point.hasPrefix(path + "/") ? point : nil
        }
    }

    /// This process's environment with chroot isolation forced (buildah reads it for RUN).
    private var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["BUILDAH_ISOLATION"] = "chroot"
        return env
    }
}
