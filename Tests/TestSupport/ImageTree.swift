// A comparable picture of an image: every path of its unpacked root file system (type, mode,
// owner, content digest, link target, hard-link group, device numbers) plus the settings of its
// config. Unpacked with umoci and read with readdir/lstat, so nothing of kiln's own extraction
// or tree walking is trusted when judging kiln's output.
import Foundation
import Glibc
import PluginAPI
import PluginSupport

/// The files and settings of one image, as a container started from it would see them.
public struct ImageTree: Sendable {
    /// One path of the root file system. Sizes are compared for regular files only (a
    /// directory's size depends on the file system it was unpacked on), times never.
    public struct Entry: Hashable, Sendable, CustomStringConvertible {
        public enum Kind: String, Sendable { case file, directory, symlink, characterDevice, blockDevice, fifo, socket }
        public var kind: Kind
        /// Permission bits with setuid, setgid and sticky (`st_mode & 0o7777`).
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var size: Int64?
        public var sha256: String?
        public var linkTarget: String?
        /// For a file whose inode other paths share: the smallest of those paths. Two trees
        /// agree on hard links when every path has the same group.
        public var hardlinkGroup: String?
        /// `major,minor` of a device node.
        public var device: String?

        public var description: String {
            var s = "\(kind.rawValue) \(String(mode, radix: 8)) \(uid):\(gid)"
            if let size { s += " size=\(size)" }
            if let sha256 { s += " sha256=\(sha256.prefix(12))" }
            if let linkTarget { s += " -> \(linkTarget)" }
            if let hardlinkGroup { s += " hardlink-group=\(hardlinkGroup)" }
            if let device { s += " dev=\(device)" }
            return s
        }
    }

    /// Absolute path in the image (`/usr/bin/env`, `/` for the root) → entry.
    public var entries: [String: Entry]
    public var config: ImageSettings

    public enum Error: Swift.Error, CustomStringConvertible {
        case unreadable(String, errno: Int32)
        case noImage(layout: String, tag: String, found: String)
        case malformedLayout(String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let p, let e): return "cannot read \(p) of an unpacked image: \(String(cString: strerror(e)))"
            case .noImage(let l, let t, let found):
                return "the OCI layout \(l) has no image tagged '\(t)' (tags: \(found)): did the build write it there?"
            case .malformedLayout(let l, let r): return "the OCI layout \(l) is not readable: \(r)"
            }
        }
    }

    /// Copies `reference` from a registry (plain HTTP or TLS without verification) into a
    /// temporary layout with skopeo, then reads it like `load(layout:tag:)`.
    public static func load(registry reference: String) async throws -> ImageTree {
        let work = try FixtureDirectory(prefix: "kiln-imagetree-pull")
        defer { work.remove() }
        let layout = work.file("layout")
        try await ProcessRunner.check(
            "skopeo",
            [
                "copy", "--quiet", "--src-tls-verify=false",
                "docker://\(reference)", "oci:\(layout):image",
            ])
        return try await load(layout: layout, tag: "image")
    }

    /// Unpacks the image tagged `tag` in the OCI layout at `layout` with `umoci unpack` (as root,
    /// so owners and device nodes are real) and reads its tree and config.
    public static func load(layout: String, tag: String) async throws -> ImageTree {
        let config = try ImageSettings.read(layout: layout, tag: tag)
        let work = try FixtureDirectory(prefix: "kiln-imagetree")
        defer { work.remove() }
        let bundle = work.file("bundle")
        try await ProcessRunner.check("umoci", ["unpack", "--image", "\(layout):\(tag)", bundle], timeout: 600)
        let rootfs = bundle + "/rootfs"
        let entries = try await runBlocking { try TreeReader.read(root: rootfs) }
        return ImageTree(entries: entries, config: config)
    }

    public init(entries: [String: Entry], config: ImageSettings) {
        self.entries = entries
        self.config = config
    }
}

/// Reads an unpacked root file system with readdir and lstat.
enum TreeReader {
    static func read(root: String) throws -> [String: ImageTree.Entry] {
        var entries: [String: ImageTree.Entry] = [:]
        var inodes: [UInt64: [String]] = [:]
        try visit(root: root, relative: "", into: &entries, inodes: &inodes)
        // Hard-link groups: only inodes reached by more than one path inside the tree count.
        for paths in inodes.values where paths.count > 1 {
            let group = paths.min() ?? ""
            for p in paths { entries[p]?.hardlinkGroup = group }
        }
        return entries
    }

    private static func visit(
        root: String, relative: String, into entries: inout [String: ImageTree.Entry],
        inodes: inout [UInt64: [String]]
    ) throws {
        let full = root + relative
        var st = stat()
        guard lstat(full.isEmpty ? "/" : full, &st) == 0 else { throw ImageTree.Error.unreadable(full, errno: errno) }
        let key = relative.isEmpty ? "/" : relative
        var entry = ImageTree.Entry(kind: .file, mode: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid)
        switch st.st_mode & S_IFMT {
        case S_IFDIR: entry.kind = .directory
        case S_IFLNK:
            entry.kind = .symlink
            entry.linkTarget = try readLink(full)
        case S_IFCHR, S_IFBLK:
            entry.kind = (st.st_mode & S_IFMT) == S_IFCHR ? .characterDevice : .blockDevice
            entry.device = "\(major(UInt64(st.st_rdev))),\(minor(UInt64(st.st_rdev)))"
        case S_IFIFO: entry.kind = .fifo
        case S_IFSOCK: entry.kind = .socket
        default:
            entry.size = Int64(st.st_size)
            entry.sha256 = try hashFile(full)
            if st.st_nlink > 1 { inodes[UInt64(st.st_ino), default: []].append(key) }
        }
        entries[key] = entry
        guard entry.kind == .directory else { return }
        for name in try directoryNames(full) {
            try visit(root: root, relative: relative + "/" + name, into: &entries, inodes: &inodes)
        }
    }

    private static func major(_ dev: UInt64) -> UInt64 { ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)) }
    private static func minor(_ dev: UInt64) -> UInt64 { (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)) }

    private static func directoryNames(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw ImageTree.Error.unreadable(path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { throw ImageTree.Error.unreadable(path, errno: errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func hashFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw ImageTree.Error.unreadable(path, errno: errno) }
        defer { close(fd) }
        var hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard n >= 0 else { throw ImageTree.Error.unreadable(path, errno: errno) }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize().encoded
    }
}

extension ImageTree.Entry {
    init(kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32) {
        self.init(
            kind: kind, mode: mode, uid: uid, gid: gid, size: nil, sha256: nil, linkTarget: nil,
            hardlinkGroup: nil, device: nil)
    }
}

/// The `config` object of an image config (OCI `config.md`; Docker's `OnBuild` too), read as
/// plain JSON so nothing of kiln's own model decides what is there.
public struct ImageSettings: Hashable, Sendable, CustomStringConvertible {
    public var env: [String] = []
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var user: String = ""
    public var workingDir: String = ""
    public var exposedPorts: [String] = []
    public var volumes: [String] = []
    public var labels: [String: String] = [:]
    public var stopSignal: String?
    public var onBuild: [String] = []
    /// Number of layers (`rootfs.diff_ids`).
    public var layerCount = 0

    public init() {}

    public var description: String {
        """
        Env=\(env) Cmd=\(cmd ?? []) Entrypoint=\(entrypoint ?? []) User=\(user) WorkingDir=\(workingDir) \
        ExposedPorts=\(exposedPorts) Volumes=\(volumes) Labels=\(labels.sorted { $0.key < $1.key }) \
        StopSignal=\(stopSignal ?? "") OnBuild=\(onBuild)
        """
    }

    /// Reads the config of the image tagged `tag` in an OCI layout (following an index to its
    /// linux/amd64 manifest).
    public static func read(layout: String, tag: String) throws -> ImageSettings {
        let index = try json(layout + "/index.json", layout: layout)
        let manifests = index["manifests"] as? [[String: Any]] ?? []
        let tagged = manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag }
        guard var descriptor = tagged ?? (manifests.count == 1 && tag.isEmpty ? manifests.first : nil) else {
            let tags = manifests.compactMap { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] }
            throw ImageTree.Error.noImage(layout: layout, tag: tag, found: tags.joined(separator: ", "))
        }
        var manifest = try blob(descriptor, layout: layout)
        if let children = manifest["manifests"] as? [[String: Any]] {
            let amd64 = children.first { ($0["platform"] as? [String: Any])?["architecture"] as? String == "amd64" }
            guard let child = amd64 ?? children.first else {
                throw ImageTree.Error.malformedLayout(layout, reason: "the index tagged \(tag) is empty")
            }
            descriptor = child
            manifest = try blob(descriptor, layout: layout)
        }
        guard let configDescriptor = manifest["config"] as? [String: Any] else {
            throw ImageTree.Error.malformedLayout(layout, reason: "the manifest tagged \(tag) has no config")
        }
        let image = try blob(configDescriptor, layout: layout)
        var s = ImageSettings()
        let c = image["config"] as? [String: Any] ?? [:]
        s.env = c["Env"] as? [String] ?? []
        s.cmd = c["Cmd"] as? [String]
        s.entrypoint = c["Entrypoint"] as? [String]
        s.user = c["User"] as? String ?? ""
        s.workingDir = c["WorkingDir"] as? String ?? ""
        s.exposedPorts = (c["ExposedPorts"] as? [String: Any] ?? [:]).keys.sorted()
        s.volumes = (c["Volumes"] as? [String: Any] ?? [:]).keys.sorted()
        s.labels = c["Labels"] as? [String: String] ?? [:]
        s.stopSignal = c["StopSignal"] as? String
        s.onBuild = c["OnBuild"] as? [String] ?? []
        s.layerCount = ((image["rootfs"] as? [String: Any])?["diff_ids"] as? [Any])?.count ?? 0
        return s
    }

    private static func blob(_ descriptor: [String: Any], layout: String) throws -> [String: Any] {
        guard let digest = descriptor["digest"] as? String, let colon = digest.firstIndex(of: ":") else {
            throw ImageTree.Error.malformedLayout(layout, reason: "a descriptor has no digest")
        }
        let path = "\(layout)/blobs/\(digest[..<colon])/\(digest[digest.index(after: colon)...])"
        return try json(path, layout: layout)
    }

    private static func json(_ path: String, layout: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageTree.Error.malformedLayout(layout, reason: "\(path) is missing")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ImageTree.Error.malformedLayout(layout, reason: "\(path) is not a JSON object")
        }
        return object
    }
}

/// A path both tools may legitimately differ on, with the reason.
public struct TreeExclusion: Sendable, CustomStringConvertible {
    /// An absolute path; a trailing `/**` also excludes everything below it.
    public var pattern: String
    public var reason: String

    public init(_ pattern: String, reason: String) {
        self.pattern = pattern
        self.reason = reason
    }

    public func matches(_ path: String) -> Bool {
        if pattern.hasSuffix("/**") {
            let base = String(pattern.dropLast(3))
            return path == base || path.hasPrefix(base + "/")
        }
        return path == pattern
    }

    public var description: String { "\(pattern) (\(reason))" }
}

extension ImageTree {
    /// Human-readable differences between `self` (named `names.0`) and `other` (`names.1`), one
    /// line per path or setting, skipping excluded paths and ignored labels. Empty when the
    /// images agree.
    public func differences(
        from other: ImageTree, names: (String, String), excluding: [TreeExclusion] = [],
        ignoringLabels: Set<String> = []
    ) -> [String] {
        var out: [String] = []
        let paths = Set(entries.keys).union(other.entries.keys).sorted()
        for path in paths where !excluding.contains(where: { $0.matches(path) }) {
            switch (entries[path], other.entries[path]) {
            case let (a?, b?): if a != b { out.append("\(path): \(a) (\(names.0)) vs \(b) (\(names.1))") }
            case let (a?, nil): out.append("\(path): only in \(names.0) (\(a))")
            case let (nil, b?): out.append("\(path): only in \(names.1) (\(b))")
            case (nil, nil): break
            }
        }
        var a = config
        var b = other.config
        for key in ignoringLabels {
            a.labels[key] = nil
            b.labels[key] = nil
        }
        // Layer counts are not part of what a container sees; compared by tests that care.
        a.layerCount = 0
        b.layerCount = 0
        if a != b { out.append("config: \(a) (\(names.0)) vs \(b) (\(names.1))") }
        return out
    }

    /// The SHA-256 (hex) of `text`, to check an entry's content without keeping file bytes.
    public static func sha256(of text: String) -> String { Digest.sha256(of: text).encoded }
}

extension ImageTree {
    /// Paths any two correct builders may differ on. Kept short: each entry is a mount point a
    /// RUN step gets from the builder, never content the Dockerfile made.
    public static let mountPointExclusions: [TreeExclusion] = [
        TreeExclusion("/etc/hosts", reason: "bind-mounted into RUN; buildah (chroot isolation) commits the empty file it mounted on"),
        TreeExclusion("/etc/resolv.conf", reason: "bind-mounted into RUN; buildah commits the empty file it mounted on"),
        TreeExclusion("/run", reason: "buildah creates it as a mount point for RUN and commits it; kiln leaves the base's (or none)"),
    ]
}
