// A snapshot's change set turned into layer entries, with OCI whiteout rules.
import Glibc
import PluginAPI
import PluginSupport
import SystemCalls

extension LayerWriter {
    /// Writes the entries for `changes` (relative to `root`) into this layer.
    ///
    /// - Parents of every entry are written first, each once, from their state on disk.
    /// - Whiteouts come before files, sorted; one `.wh.` per topmost deleted path only (never for
    ///   children of a deleted directory), and none under a directory that became a file or
    ///   link (writing that entry already replaces the directory).
    /// - A directory that was deleted and recreated (it is a directory in both states but its
    ///   inode changed) gets `dir/.wh..wh..opq` followed by all its current contents, which are
    ///   read from disk (skipping `ignoring`).
    /// - Added and modified paths follow in bytewise path order (paths are the kernel's bytes).
    /// `previous` is the state the change set was computed against.
    public func addChanges(root: String, changes: ChangeSet, previous: SnapshotState, ignoring: IgnoreList = IgnoreList()) throws {
        let upserted = changes.upserted
        var current: [BytePath: FileRecord] = [:]
        for r in upserted { current[r.path] = r }
        let deleted = Set(changes.deleted).subtracting(current.keys)

        var opaque = Set<BytePath>()
        for r in upserted where r.type == .directory {
            if let old = previous.records[r.path], old.type == .directory, old.inode != 0, r.inode != 0, old.inode != r.inode {
                opaque.insert(r.path)
            }
        }

        func hasAncestor(_ path: BytePath, where test: (BytePath) -> Bool) -> Bool {
            var p = path.bytes[...]
            while let slash = p.lastIndex(of: UInt8(ascii: "/")) {
                p = p[..<slash]
                if test(BytePath(bytes: p)) { return true }
            }
            return false
        }

        let whiteouts = deleted.filter { path in
            !ignoring.contains(path)
                && !hasAncestor(path) { a in
                    deleted.contains(a) || opaque.contains(a) || (current[a].map { $0.type != .directory } ?? false)
                }
        }
        for path in whiteouts.sorted() {
            try addParents(of: path, root: root)
            try addWhiteout(for: path)
        }

        for r in upserted where !writtenNames.contains(r.path) {
            if ignoring.contains(r.path) { continue }
            try addParents(of: r.path, root: root)
            if !writtenNames.contains(r.path) {
                try addPath(Self.join(root, r.path), as: r.path)
            }
            if opaque.contains(r.path) {
                try addOpaqueMarker(directory: r.path)
                try addTree(root: root, directory: r.path, ignoring: ignoring)
            }
        }
    }

    /// Writes the layer for `changes` to a new blob at `path` (see `addChanges`). Returns nil
    /// when the change set is empty: no layer is made for a step that changed nothing.
    public static func write(
        changes: ChangeSet, root: String, previous: SnapshotState, to path: String, options: Options = Options(),
        ignoring: IgnoreList = IgnoreList()
    ) throws -> LayerBlob? {
        if changes.isEmpty { return nil }
        let writer = try LayerWriter(path: path, options: options)
        try writer.addChanges(root: root, changes: changes, previous: previous, ignoring: ignoring)
        return try writer.finish()
    }

    /// `write(changes:root:previous:to:options:ignoring:)` on a thread outside the cooperative pool.
    public static func write(
        changes: ChangeSet, root: String, previous: SnapshotState, to path: String, options: Options = Options(),
        ignoring: IgnoreList = IgnoreList()
    ) async throws -> LayerBlob? {
        try await runBlocking {
            try write(changes: changes, root: root, previous: previous, to: path, options: options, ignoring: ignoring)
        }
    }

    /// Writes the ancestors of `path` that are not in the layer yet, outermost first.
    public func addParents(of path: String, root: String) throws {
        try addParents(of: BytePath(path), root: root)
    }

    /// Writes the ancestors of `path` (the kernel's bytes) that are not in the layer yet, outermost first.
    public func addParents(of path: BytePath, root: String) throws {
        let parts = path.components
        guard parts.count > 1 else { return }
        var prefix = BytePath.empty
        for part in parts.dropLast() {
            prefix = prefix.appending(part)
            if !writtenNames.contains(prefix) {
                try addPath(Self.join(root, prefix), as: prefix)
            }
        }
    }

    /// Writes everything under `directory` (relative to `root`) in sorted order, depth first.
    public func addTree(root: String, directory: BytePath, ignoring: IgnoreList = IgnoreList()) throws {
        let abs = Self.join(root, directory)
        let fd: Int32
        do { fd = try sys("open", abs) { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } } catch {
            throw Error.unreadableSource(path: abs.description, reason: "\(error)")
        }
        let names: [BytePath]
        do {
            defer { close(fd) }
            names = try directoryNames(fd, subject: abs.description)
        } catch {
            throw Error.unreadableSource(path: abs.description, reason: "\(error)")
        }
        for name in names {
            let rel = directory.appending(name)
            if ignoring.contains(rel) || writtenNames.contains(rel) { continue }
            try addPath(abs.appending(name), as: rel)
            if let st = (try? lstatIfPresent(abs.appending(name))) ?? nil, ModeBits.isDirectory(st.st_mode) {
                try addTree(root: root, directory: rel, ignoring: ignoring)
            }
        }
    }

    static func join(_ root: String, _ rel: BytePath) -> BytePath {
        root.hasSuffix("/") ? root + rel : BytePath(root).appending(rel)
    }
}
