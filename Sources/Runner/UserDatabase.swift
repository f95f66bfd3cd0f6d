// Dockerfile USER resolution through the build root's own /etc/passwd and /etc/group (never the
// host's, never NSS), with runc's rules: numeric ids need no entry, names do; an explicit group
// replaces the membership list.
import SystemCalls

/// The users and groups of a build root.
public struct UserDatabase: Sendable {
    /// A resolved USER: what the step runs as.
    public struct Identity: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        /// Supplementary groups, the primary group first.
        public var groups: [UInt32]
        /// The passwd home; `/root` for root and `/` for a uid without an entry.
        public var home: String

        public init(uid: UInt32, gid: UInt32, groups: [UInt32], home: String) {
            self.uid = uid
            self.gid = gid
            self.groups = groups
            self.home = home
        }
    }

    /// Why a USER cannot be resolved.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case unknownUser(String, root: String, fileExists: Bool)
        case unknownGroup(String, root: String, fileExists: Bool)
        case unreadable(file: String, root: String, reason: String)

        public var description: String {
            switch self {
            case .unknownUser(let name, let root, let exists):
                return "USER \(name): no such user in /etc/passwd of the build root \(root)"
                    + (exists ? "" : " (the file does not exist)")
                    + "; create the user in an earlier RUN or use a numeric uid"
            case .unknownGroup(let name, let root, let exists):
                return "USER group \(name): no such group in /etc/group of the build root \(root)"
                    + (exists ? "" : " (the file does not exist)")
                    + "; create the group in an earlier RUN or use a numeric gid"
            case .unreadable(let file, let root, let reason):
                return "cannot read \(file) of the build root \(root): \(reason)"
            }
        }
    }

    struct User: Sendable {
        var name: String
        var uid: UInt32
        var gid: UInt32
        var home: String
    }

    struct Group: Sendable {
        var name: String
        var gid: UInt32
        var members: [String]
    }

    let root: String
    let users: [User]?
    let groupEntries: [Group]?

    /// Reads `/etc/passwd` and `/etc/group` of `root` (a host path), resolved inside the root.
    /// Missing files are fine (numeric ids still resolve); unreadable ones throw.
    public init(root: String) throws(Error) {
        self.root = root
        do {
            let dir = try RootedDirectory(path: root)
            users = try dir.read("/etc/passwd").map { Self.parsePasswd(String(decoding: $0, as: UTF8.self)) }
            groupEntries = try dir.read("/etc/group").map { Self.parseGroup(String(decoding: $0, as: UTF8.self)) }
        } catch {
            throw .unreadable(file: "/etc/passwd or /etc/group", root: root, reason: error.description)
        }
    }

    /// The owner `COPY --chown`, `ADD --chown` and WORKDIR (under a USER) give files, by
    /// BuildKit's rule: a bare number is never looked up, so `1234` is `1234:1234`; a name
    /// without a group takes the user's primary group from the image's passwd; a group part is
    /// a number or a name from the image's group file.
    public func resolveOwner(_ spec: String) throws(Error) -> (uid: UInt32, gid: UInt32) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 1, let number = UInt32(parts[0]) { return (number, number) }
        let identity = try resolve(spec)
        return (identity.uid, identity.gid)
    }

    /// Resolves a Dockerfile USER value: `name`, `uid`, `name:group`, `uid:gid` (either side may
    /// be numeric); empty means root. Without an explicit group the user's primary group and
    /// every group listing the user as a member are the supplementary groups.
    public func resolve(_ spec: String) throws(Error) -> Identity {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts.first.flatMap { $0.isEmpty ? nil : $0 } ?? "0"
        let groupPart = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil

        let entry: User?
        let uid: UInt32
        if let number = UInt32(userPart) {
            entry = users?.first { $0.uid == number }
            uid = number
        } else {
            guard let found = users?.first(where: { $0.name == userPart }) else {
                throw .unknownUser(userPart, root: root, fileExists: users != nil)
            }
            entry = found
            uid = found.uid
        }
        let home = entry.map(\.home).flatMap { $0.isEmpty ? nil : $0 } ?? (uid == 0 ? "/root" : "/")

        if let groupPart {
            let gid: UInt32
            if let number = UInt32(groupPart) {
                gid = number
            } else {
                guard let group = groupEntries?.first(where: { $0.name == groupPart }) else {
                    throw .unknownGroup(groupPart, root: root, fileExists: groupEntries != nil)
                }
                gid = group.gid
            }
            return Identity(uid: uid, gid: gid, groups: [gid], home: home)
        }
        let gid = entry?.gid ?? 0
        var groups = [gid]
        if let name = entry?.name {
            for group in groupEntries ?? [] where group.members.contains(name) && !groups.contains(group.gid) {
                groups.append(group.gid)
            }
        }
        return Identity(uid: uid, gid: gid, groups: groups, home: home)
    }

    /// `name:password:uid:gid:gecos:home:shell`; malformed lines are skipped like glibc does.
    static func parsePasswd(_ text: String) -> [User] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 6, !f[0].hasPrefix("#"), let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return User(name: String(f[0]), uid: uid, gid: gid, home: String(f[5]))
        }
    }

    /// `name:password:gid:member,member`.
    static func parseGroup(_ text: String) -> [Group] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 3, !f[0].hasPrefix("#"), let gid = UInt32(f[2]) else { return nil }
            let members = f.count > 3 ? f[3].split(separator: ",").map { $0.trimmingWhitespace() } : []
            return Group(name: String(f[0]), gid: gid, members: members)
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
