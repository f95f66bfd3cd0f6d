// USER resolution rules (runc's libcontainer/user GetExecUser behaviour, written down as a table).
import Foundation
import Runner
import Testing

struct UserDatabaseTests {
    static let passwd =
        "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\napp:x:1000:1000::/home/app:/bin/sh\nnohome:x:1002:1002:::/bin/sh\n"
    static let group = "root:x:0:\napp:x:1000:\nextra:x:1001:app, nohome\nstaff:x:50:root\n"

    static func database(passwd: String? = passwd, group: String? = group) throws -> (UserDatabase, String) {
        let root = NSTemporaryDirectory() + "kiln-userdb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try passwd?.write(toFile: root + "/etc/passwd", atomically: false, encoding: .utf8)
        try group?.write(toFile: root + "/etc/group", atomically: false, encoding: .utf8)
        return (try UserDatabase(root: root), root)
    }

    @Test(
        arguments: [
            ("", 0, 0, [0, 50], "/root"),
            ("root", 0, 0, [0, 50], "/root"),
            ("app", 1000, 1000, [1000, 1001], "/home/app"),
            ("1000", 1000, 1000, [1000, 1001], "/home/app"),
            ("app:extra", 1000, 1001, [1001], "/home/app"),
            ("app:77", 1000, 77, [77], "/home/app"),
            ("1000:1000", 1000, 1000, [1000], "/home/app"),
            ("nohome", 1002, 1002, [1002, 1001], "/"),
            ("5000", 5000, 0, [0], "/"),
            ("5000:5000", 5000, 5000, [5000], "/"),
        ] as [(String, UInt32, UInt32, [UInt32], String)])
    func resolves(spec: String, uid: UInt32, gid: UInt32, groups: [UInt32], home: String) throws {
        let (db, root) = try Self.database()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try db.resolve(spec) == UserDatabase.Identity(uid: uid, gid: gid, groups: groups, home: home))
    }

    @Test func unknownNamesNameTheFile() throws {
        let (db, root) = try Self.database()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: UserDatabase.Error.unknownUser("bob", root: root, fileExists: true)) { try db.resolve("bob") }
        #expect(throws: UserDatabase.Error.unknownGroup("wheel", root: root, fileExists: true)) { try db.resolve("app:wheel") }
        #expect(UserDatabase.Error.unknownGroup("wheel", root: root, fileExists: true).description.contains("/etc/group"))
    }

    @Test func missingFilesAreFineForNumericIds() throws {
        let (db, root) = try Self.database(passwd: nil, group: nil)
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try db.resolve("0") == UserDatabase.Identity(uid: 0, gid: 0, groups: [0], home: "/root"))
        #expect(try db.resolve("33:44") == UserDatabase.Identity(uid: 33, gid: 44, groups: [44], home: "/"))
        #expect(throws: UserDatabase.Error.unknownUser("app", root: root, fileExists: false)) { try db.resolve("app") }
        #expect(UserDatabase.Error.unknownUser("app", root: root, fileExists: false).description.contains("does not exist"))
    }
}
