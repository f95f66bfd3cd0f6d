// Base images for end-to-end builds, made with tools independent of kiln (Debian's
// busybox-static, debootstrap, umoci) and pushed to a test registry with skopeo, so a bug in
// kiln's own layer or manifest code cannot hide in the base it builds on.
import Foundation

/// A base image the tests build on.
public enum BaseImage: String, Sendable, CaseIterable {
    /// `/bin/busybox` from Debian's busybox-static plus an applet symlink per command, users
    /// `root` and `app` (1000:1000, also in group `extra` 2000), `/tmp` 1777 and a few files
    /// under `/srv` that tests delete, replace and link (see `BusyboxRootfs`).
    case busybox
    /// Debian bookworm made by `debootstrap --variant=minbase`, with empty `/dev` and no apt
    /// lists, as Debian's official images ship it.
    case bookworm

    /// The repository it is pushed as (`127.0.0.1:PORT/<name>:latest`).
    public var repository: String { rawValue }
}

/// Makes each base image once per test process (an OCI layout kept under `$KILN_TEST_CACHE`,
/// default `/var/cache/kiln-tests`, reused by later runs) and pushes it to registries.
public actor BaseImageFixture {
    public enum Error: Swift.Error, CustomStringConvertible {
        case missingProgram(String, package: String)
        case cacheUnwritable(String, underlying: String)

        public var description: String {
            switch self {
            case .missingProgram(let p, let pkg):
                return "\(p) is needed to make the test base images: apt-get install \(pkg) (or run scripts/setup.sh --tests)"
            case .cacheUnwritable(let dir, let e):
                return "cannot write the base-image cache \(dir) (\(e)): set KILN_TEST_CACHE to a writable directory"
            }
        }
    }

    /// The one fixture of this test process.
    public static let shared = BaseImageFixture()

    /// Bump when the contents of a base change, so caches made by older test code are not reused.
    static let formatVersion = 1

    private var layouts: [BaseImage: Task<String, any Swift.Error>] = [:]

    /// The cache directory: `$KILN_TEST_CACHE`, else `/var/cache/kiln-tests`.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment["KILN_TEST_CACHE"] ?? ""
        return env.isEmpty ? "/var/cache/kiln-tests" : env
    }

    /// The OCI layout holding `image` under the tag `latest`, made on first use.
    public func layout(_ image: BaseImage) async throws -> String {
        if let task = layouts[image] { return try await task.value }
        let task = Task { try await Self.makeCachedLayout(image) }
        layouts[image] = task
        do { return try await task.value } catch {
            layouts[image] = nil  // let a later test retry (e.g. after a network hiccup)
            throw error
        }
    }

    /// Pushes `image` to `registry` and returns its reference (`127.0.0.1:PORT/busybox:latest`).
    @discardableResult
    public func push(_ image: BaseImage, to registry: RegistryFixture) async throws -> String {
        let layout = try await layout(image)
        let reference = "\(registry.host)/\(image.repository):latest"
        try await ProcessRunner.check(
            "skopeo",
            [
                "copy", "--quiet", "--dest-tls-verify=false",
                "oci:\(layout):latest", "docker://\(reference)",
            ])
        return reference
    }

    /// Returns the cached layout, or builds it in a sibling temporary directory and renames it
    /// into place (so an interrupted build never leaves a half-made cache entry).
    private static func makeCachedLayout(_ image: BaseImage) async throws -> String {
        let key = try await cacheKey(image)
        let final = cacheDirectory + "/" + key
        if FileManager.default.fileExists(atPath: final + "/index.json") { return final }
        do {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        } catch {
            throw Error.cacheUnwritable(cacheDirectory, underlying: "\(error)")
        }
        let work = try FixtureDirectory(prefix: "kiln-base-\(image.rawValue)")
        defer { work.remove() }
        let rootfs = work.file("rootfs")
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: false)
        let config: [String]
        switch image {
        case .busybox:
            try await BusyboxRootfs.populate(rootfs)
            config = [
                "--config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--config.cmd=sh",
            ]
        case .bookworm:
            try await DebootstrapRootfs.populate(rootfs)
            config = [
                "--config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--config.cmd=bash",
            ]
        }
        // The root entry takes the directory's own mode; mkdtemp made it 0700.
        chmod(rootfs, 0o755)
        let staging = cacheDirectory + "/.\(key).\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        do {
            try await packWithUmoci(rootfs: rootfs, layout: staging, config: config)
            try? FileManager.default.removeItem(atPath: final)
            try FileManager.default.moveItem(atPath: staging, toPath: final)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        return final
    }

    /// One layer holding the whole root file system, then the config, then garbage collection
    /// of the superseded manifests.
    private static func packWithUmoci(rootfs: String, layout: String, config: [String]) async throws {
        try requireProgram("umoci", package: "umoci")
        let image = "\(layout):latest"
        try await ProcessRunner.check("umoci", ["init", "--layout", layout])
        try await ProcessRunner.check("umoci", ["new", "--image", image])
        try await ProcessRunner.check("umoci", ["insert", "--image", image, rootfs, "/"], timeout: 600)
        try await ProcessRunner.check("umoci", ["config", "--image", image, "--author=kiln-tests"] + config)
        try await ProcessRunner.check("umoci", ["gc", "--layout", layout])
    }

    /// `<image>-v<format>-<package version>`: a new busybox-static or debootstrap invalidates it.
    private static func cacheKey(_ image: BaseImage) async throws -> String {
        let package = image == .busybox ? "busybox-static" : "debootstrap"
        let r = try await ProcessRunner.run("dpkg-query", ["-W", "-f=${Version}", package])
        guard r.succeeded, !r.stdout.isEmpty else { throw Error.missingProgram(package, package: package) }
        let version = r.stdout.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "_" }
        return "\(image.rawValue)-v\(formatVersion)-\(String(version))"
    }

    static func requireProgram(_ name: String, package: String) throws {
        guard ExecutableLookup.find(name) != nil else { throw Error.missingProgram(name, package: package) }
    }
}

/// The busybox root file system: small, but with every kind of entry the build tests touch.
enum BusyboxRootfs {
    static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        app:x:1000:1000:app:/home/app:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false

        """
    static let group = """
        root:x:0:
        app:x:1000:
        extra:x:2000:app
        nogroup:x:65534:

        """

    /// `busybox` is the binary copied in (another architecture's for a foreign base); the
    /// applet list comes from the host's busybox of the same Debian package.
    static func populate(_ root: String, busybox: String = "/bin/busybox") async throws {
        try BaseImageFixture.requireProgram("busybox", package: "busybox-static")
        guard FileManager.default.isExecutableFile(atPath: busybox) else {
            throw BaseImageFixture.Error.missingProgram(busybox, package: "busybox-static")
        }
        let t = RootfsWriter(root: root)
        for dir in [
            "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "var", "var/empty",
            "home", "srv", "srv/data", "srv/data/sub", "srv/data/sub/deeper", "srv/replace-by-file",
            "srv/replace-by-link", "opt",
        ] {
            try t.directory(dir)
        }
        try t.directory("root", mode: 0o700)
        try t.directory("tmp", mode: 0o1777)
        try t.directory("home/app", uid: 1000, gid: 1000)
        try FileManager.default.copyItem(atPath: busybox, toPath: root + "/bin/busybox")
        try t.setOwner("bin/busybox", mode: 0o755)

        // An applet symlink per command, where Debian's busybox would install it.
        let list = try await ProcessRunner.check("/bin/busybox", ["--list-full"])
        for applet in list.stdout.split(separator: "\n").map(String.init) where applet.contains("/") && applet != "bin/busybox" {
            try t.symlink(applet, to: "/bin/busybox")
        }

        try t.file("etc/passwd", passwd)
        try t.file("etc/group", group)
        try t.file("etc/shadow", "root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n", mode: 0o640)
        try t.file("etc/hostname", "busybox\n")
        try t.file("etc/motd", "kiln test base\n")

        // Files the whiteout, link and ownership tests change.
        try t.file("srv/keep.txt", "keep\n")
        try t.file("srv/gone.txt", "gone\n")
        try t.file("srv/data/a.txt", "a\n")
        try t.file("srv/data/sub/b.txt", "b\n", uid: 1000, gid: 1000)
        try t.file("srv/data/sub/deeper/c.txt", "c\n", mode: 0o600)
        try t.file("srv/replace-by-file/x", "x\n")
        try t.file("srv/replace-by-link/y", "y\n")
        try t.file("srv/hard1", "shared inode\n")
        try t.hardlink("srv/hard2", to: "srv/hard1")
        try t.symlink("srv/link-to-keep", to: "keep.txt")
        try t.file("srv/tool", "#!/bin/sh\necho tool\n", mode: 0o4755)
    }
}

/// Debian bookworm minbase from the Debian archive.
enum DebootstrapRootfs {
    /// `$KILN_DEBIAN_MIRROR`, else deb.debian.org.
    static var mirror: String {
        let env = ProcessInfo.processInfo.environment["KILN_DEBIAN_MIRROR"] ?? ""
        return env.isEmpty ? "http://deb.debian.org/debian" : env
    }

    static func populate(_ root: String) async throws {
        try BaseImageFixture.requireProgram("debootstrap", package: "debootstrap")
        try await ProcessRunner.check("debootstrap", ["--variant=minbase", "bookworm", root, mirror], timeout: 1200)
        // What Debian's official images leave out: device nodes (the runtime provides /dev),
        // downloaded package lists and apt's binary caches.
        for dir in ["dev", "var/lib/apt/lists", "var/cache/apt/archives"] {
            try RootfsWriter(root: root).emptyDirectory(dir)
        }
        for file in ["var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin"] {
            try? FileManager.default.removeItem(atPath: root + "/" + file)
        }
    }
}

/// Creates entries with exact modes and owners (root is needed for other owners).
struct RootfsWriter {
    let root: String

    enum Error: Swift.Error, CustomStringConvertible {
        case failed(String, path: String, errno: Int32)
        var description: String {
            switch self {
            case .failed(let op, let path, let e):
                return "\(op) \(path) failed: \(String(cString: strerror(e))) (making a test base image needs root)"
            }
        }
    }

    private func check(_ rc: Int32, _ op: String, _ path: String) throws {
        if rc != 0 { throw Error.failed(op, path: path, errno: errno) }
    }

    func directory(_ relative: String, mode: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0) throws {
        let p = root + "/" + relative
        if mkdir(p, mode) != 0 && errno != EEXIST { throw Error.failed("mkdir", path: p, errno: errno) }
        try setOwner(relative, mode: mode, uid: uid, gid: gid)
    }

    func file(_ relative: String, _ text: String, mode: mode_t = 0o644, uid: uid_t = 0, gid: gid_t = 0) throws {
        let p = root + "/" + relative
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: p)) } catch {
            throw Error.failed("create", path: p, errno: errno)
        }
        try setOwner(relative, mode: mode, uid: uid, gid: gid)
    }

    /// chown then chmod (chown clears setuid bits, so the order matters).
    func setOwner(_ relative: String, mode: mode_t, uid: uid_t = 0, gid: gid_t = 0) throws {
        let p = root + "/" + relative
        try check(lchown(p, uid, gid), "lchown", p)
        try check(chmod(p, mode), "chmod", p)
    }

    func symlink(_ relative: String, to target: String) throws {
        let p = root + "/" + relative
        try check(Foundation.symlink(target, p), "symlink", p)
    }

    func hardlink(_ relative: String, to existing: String) throws {
        let p = root + "/" + relative
        try check(link(root + "/" + existing, p), "link", p)
    }

    /// Removes everything inside `relative`, keeping the directory itself.
    func emptyDirectory(_ relative: String) throws {
        let p = root + "/" + relative
        for name in (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? [] {
            try FileManager.default.removeItem(atPath: p + "/" + name)
        }
    }
}
