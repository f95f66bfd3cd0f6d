// The first capture hashes every regular file: the one place where hashing dominates (5 GiB on
// /usr), so it runs on every core instead of inline in the walk.
import Dispatch
import Glibc
import PluginAPI
import PluginSupport
import Synchronization

/// Computes the content digests of a first capture's regular files in parallel, each inode
/// once, in the order the walk met them (close to on-disk order for cold caches).
struct BaselineHashing {
    struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ r: FileRecord) {
            device = r.device
            inode = r.inode
        }
    }

    /// One path per inode, in walk order.
    private(set) var paths: [BytePath] = []
    private var seen = Set<InodeKey>()

    /// A `SnapshotWalk` refine step that only collects work.
    mutating func collect(_ entry: inout SnapshotWalk.Entry, _ stats: inout SnapshotStatistics) -> Bool {
        if entry.record.type == .regular, seen.insert(InodeKey(entry.record)).inserted { paths.append(entry.record.path) }
        return true
    }

    /// Hashes the collected files and stores each digest in every record of its inode. Records
    /// whose file vanished or stopped being a regular file are dropped.
    func hash(into records: inout [BytePath: FileRecord], root: String, statistics: inout SnapshotStatistics) throws {
        let prefix = BytePath(root.hasSuffix("/") ? root : root + "/")
        let results = Slots(count: paths.count)
        let next = Atomic<Int>(0)
        let paths = self.paths
        let workers = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 8))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let hasher = ContentHasher()
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < paths.count else { return }
                results.store(Result { try hasher.sha256(path: prefix + paths[i]) }, at: i)
            }
        }
        var byInode: [InodeKey: Digest] = [:]
        for (i, path) in paths.enumerated() {
            guard let record = records[path], let result = results.value(at: i) else { continue }
            if let (digest, bytes) = try result.get() {
                statistics.filesHashed += 1
                statistics.bytesHashed += bytes
                byInode[InodeKey(record)] = digest
            } else {
                records[path] = nil
            }
        }
        // Other names of each inode share its digest; a name whose inode was not hashed (its
        // first name vanished mid-capture) is hashed on its own.
        let fallback = ContentHasher()
        for (path, record) in records where record.type == .regular {
            if let digest = byInode[InodeKey(record)] {
                records[path]?.contentDigest = digest
            } else if let (digest, bytes) = try fallback.sha256(path: prefix + path) {
                statistics.filesHashed += 1
                statistics.bytesHashed += bytes
                records[path]?.contentDigest = digest
                byInode[InodeKey(record)] = digest
            } else {
                records[path] = nil
            }
        }
    }
}

/// One result slot per file. `@unchecked Sendable` because the workers never share a slot: each
/// index comes from one atomic increment, so exactly one worker writes it, and the slots are
/// read only after `concurrentPerform` has returned (which orders those writes before the reads).
private final class Slots: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<Result<(Digest, Int64)?, Swift.Error>?>

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }

    func store(_ result: Result<(Digest, Int64)?, Swift.Error>, at index: Int) { buffer[index] = result }
    func value(at index: Int) -> Result<(Digest, Int64)?, Swift.Error>? { buffer[index] }
}
