// Root file systems of another architecture, from Debian's busybox-static for that architecture,
// fetched without adding the architecture to this machine's dpkg: apt runs on a private
// configuration (its own lists and cache under $KILN_TEST_CACHE, APT::Architectures set on the
// command line, no dpkg status), so `dpkg --print-foreign-architectures` stays as it was.
import Foundation

public enum ForeignBusybox {
    /// The Debian .deb of `busybox-static` for `architecture` (a Debian name: `arm64`,
    /// `armhf`, `riscv64`…), downloaded once into `$KILN_TEST_CACHE/debs`.
    public static func package(architecture: String) async throws -> String {
        let debs = BaseImageFixture.cacheDirectory + "/debs"
        try FileManager.default.createDirectory(atPath: debs, withIntermediateDirectories: true)
        if let cached = try existing(in: debs, architecture: architecture) { return cached }

        let apt = BaseImageFixture.cacheDirectory + "/apt-" + architecture
        for dir in ["lists/partial", "cache/archives/partial"] {
            try FileManager.default.createDirectory(atPath: apt + "/" + dir, withIntermediateDirectories: true)
        }
        let options = [
            "-o", "APT::Architectures::=\(architecture)", "-o", "APT::Architecture=\(architecture)",
            "-o", "Dir::State::Lists=\(apt)/lists", "-o", "Dir::Cache=\(apt)/cache", "-o", "Dir::State::status=/dev/null",
            "-o", "APT::Sandbox::User=root", "-q",
        ]
        try await ProcessRunner.check("apt-get", options + ["update"], timeout: 600)
        // Download beside the cache, then rename: an interrupted download never looks cached.
        let staging = try FixtureDirectory(prefix: "kiln-deb")
        defer { staging.remove() }
        try await ProcessRunner.check("apt-get", options + ["download", "busybox-static:\(architecture)"], currentDirectory: staging.path)
        guard let fetched = try existing(in: staging.path, architecture: architecture) else {
            throw ProcessRunner.Error.notFound("busybox-static_*_\(architecture).deb after apt-get download")
        }
        let final = debs + "/" + (fetched as NSString).lastPathComponent
        try? FileManager.default.removeItem(atPath: final)
        try FileManager.default.moveItem(atPath: fetched, toPath: final)
        return final
    }

    /// Extracts the package's `/bin/busybox` (dpkg -x) and builds the same root as the busybox
    /// base image around it (applet symlinks, users, `/tmp`, `/srv` files) in `root`.
    public static func populate(_ root: String, architecture: String) async throws {
        let deb = try await package(architecture: architecture)
        let unpacked = try FixtureDirectory(prefix: "kiln-deb-x")
        defer { unpacked.remove() }
        try await ProcessRunner.check("dpkg", ["-x", deb, unpacked.path])
        try await BusyboxRootfs.populate(root, busybox: unpacked.path + "/bin/busybox")
    }

    private static func existing(in dir: String, architecture: String) throws -> String? {
        try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasPrefix("busybox-static_") && $0.hasSuffix("_\(architecture).deb") }
            .sorted().last.map { dir + "/" + $0 }
    }
}
