// The hostile-layer corpus: tars written with Python's tarfile that try to escape the root.
// Each case must be refused with a clear error or contained inside the root, and a sentinel
// directory next to the root (plus /etc/passwd) must be byte-for-byte unchanged.
import Foundation
import Glibc
import PluginAPI
import Testing

@testable import Archive

struct HostileCase: Sendable, CustomTestStringConvertible {
    enum Outcome: Sendable {
        /// Extraction throws and the message contains this text.
        case refused(String)
        /// Extraction succeeds and this path (relative to the root) exists afterwards.
        case contained(String)
        /// Either outcome is acceptable; only the sentinel matters.
        case eitherWay
    }
    let name: String
    /// One tar per layer, applied in order. `@S@` is replaced by the sentinel's absolute path.
    let layers: [[TarEntry]]
    let outcome: Outcome
    var compression = ""
    var options = ExtractionOptions()
    var testDescription: String { name }

    init(_ name: String, _ layers: [[TarEntry]], _ outcome: Outcome, compression: String = "", options: ExtractionOptions = .init()) {
        self.name = name
        self.layers = layers
        self.outcome = outcome
        self.compression = compression
        self.options = options
    }

    static let all: [HostileCase] = [
        .init("../ escape", [[.file("../sentinel/pwned")]], .refused("contains '..'")),
        .init("a/../../x", [[.file("a/../../sentinel/pwned")]], .refused("contains '..'")),
        .init("./.. prefix", [[.file("./../sentinel/pwned")]], .refused("contains '..'")),
        .init("absolute name", [[.file("@S@/pwned")]], .contained("@S@/pwned")),
        .init("symlink to / then write through", [[.symlink("evil", to: "/"), .file("evil/etc/x")]], .contained("etc/x")),
        .init("symlink to sentinel then write through", [[.symlink("evil", to: "@S@"), .file("evil/pwned")]], .contained("@S@/pwned")),
        .init(
            "symlink ../.. then write through", [[.symlink("up", to: "../.."), .file("up/sentinel/pwned")]], .contained("sentinel/pwned")),
        .init(
            "deep relative symlink", [[.dir("a/"), .symlink("a/b", to: "../../../../../../../../@S@"), .file("a/b/pwned")]],
            .contained("@S@/pwned")),
        .init(
            "symlink planted in one layer, written through in the next", [[.symlink("evil", to: "@S@")], [.file("evil/pwned")]],
            .contained("@S@/pwned")),
        .init("symlink replaced by a file", [[.symlink("link", to: "@S@/secret"), .file("link", "overwritten")]], .contained("link")),
        .init("symlink replaced by a directory", [[.symlink("evil", to: "@S@"), .dir("evil/"), .file("evil/x")]], .contained("evil/x")),
        .init(
            "device node through a symlink", [[.symlink("d", to: "@S@"), TarEntry(name: "d/null", kind: .chr, mode: 0o666)]],
            .contained("@S@/null")),
        .init("hardlink to /etc/passwd", [[.hardlink("x", to: "/etc/passwd")]], .refused("does not exist inside the root")),
        .init("hardlink to ../outside", [[.hardlink("x", to: "../sentinel/secret")]], .refused("contains '..'")),
        .init(
            "hardlink through a symlink", [[.symlink("s", to: "@S@"), .hardlink("x", to: "s/secret")]],
            .refused("does not exist inside the root")),
        .init("symlink loop (self)", [[.symlink("loop", to: "loop"), .file("loop/x")]], .refused("symlink loop")),
        .init("symlink loop (pair)", [[.symlink("a", to: "b"), .symlink("b", to: "a"), .file("a/x")]], .refused("symlink loop")),
        .init(".wh. of ..", [[.dir("sub/"), .file("sub/.wh...")]], .refused("the whiteout names '..'")),
        .init(".wh. of .", [[.dir("sub/"), .file("sub/.wh..")]], .refused("the whiteout names '.'")),
        .init("whiteout through a symlink", [[.symlink("s", to: "@S@"), .file("s/.wh.secret")]], .eitherWay),
        .init("opaque marker through a symlink", [[.symlink("s", to: "@S@"), .file("s/.wh..wh..opq")]], .eitherWay),
        .init("whiteout of the parent via ..", [[.file("a/../.wh.sentinel")]], .refused("contains '..'")),
        .init(
            "gzip bomb", [[.file("ok"), TarEntry(name: "bomb", zeros: 64 << 20)]], .refused("expands to more than"),
            compression: "gz", options: .init(maxUncompressedBytes: 8 << 20)),
        .init(
            "entry-count bomb", [(0..<300).map { .file("f\($0)", "") }], .refused("more than 100 entries"),
            options: .init(maxEntries: 100)),
    ]
}

@Suite("Hostile layers")
struct HostileLayerTests {
    @Test("is refused or contained, and nothing outside the root changes", .enabled(if: rootOrCI), arguments: HostileCase.all)
    func hostile(_ c: HostileCase) throws {
        requireRoot()
        let tmp = try TempDir("kiln-hostile")
        let box = try tmp.mkdir("box")
        let root = try tmp.mkdir("box/root")
        let sentinel = try tmp.mkdir("box/sentinel")
        try writeFile(sentinel + "/secret", "do not touch\n")
        try FileManager.default.createDirectory(atPath: sentinel + "/dir", withIntermediateDirectories: true)
        try writeFile(sentinel + "/dir/inner", "inner\n", mode: 0o600)
        let before = try listing(sentinel, mtimes: true)
        let siblingsBefore = try FileManager.default.contentsOfDirectory(atPath: box).sorted()
        let passwdBefore = try listing("/etc/passwd", mtimes: true) + ["nlink \(try stat("/etc/passwd").st_nlink)"]

        func substitute(_ s: String) -> String { s.replacingOccurrences(of: "@S@", with: sentinel) }
        var layers: [String] = []
        for (i, entries) in c.layers.enumerated() {
            let fixed = entries.map { e -> TarEntry in
                var e = e
                e.name = substitute(e.name)
                e.linkname = substitute(e.linkname)
                return e
            }
            let path = tmp.sub("layer-\(i)")  // outside `box`, whose listing is checked
            try TarBuilder.write(fixed, to: path, compression: c.compression)
            layers.append(path)
        }
        let extractor = LayerExtractor(root: root, options: c.options)
        var failure: LayerExtractor.Error?
        do {
            for (i, l) in layers.enumerated() { try extractor.apply(layer: l, name: "layer-\(i)") }
        } catch let e as LayerExtractor.Error {
            failure = e
        }

        switch c.outcome {
        case .refused(let text):
            let f = try #require(failure, "expected a refusal")
            #expect(f.description.contains(text), "\(f)")
            #expect(f.description.contains("layer-"), "the error names the layer: \(f)")
        case .contained(let path):
            #expect(failure == nil, "\(String(describing: failure))")
            #expect(
                FileManager.default.fileExists(atPath: root + "/" + substitute(path)) || (try? stat(root + "/" + substitute(path))) != nil)
        case .eitherWay:
            break
        }
        #expect(try listing(sentinel, mtimes: true) == before, "the sentinel changed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box).sorted() == siblingsBefore)
        #expect(try listing("/etc/passwd", mtimes: true) + ["nlink \(try stat("/etc/passwd").st_nlink)"] == passwdBefore)
    }

    @Test("a bomb is refused before its data is written")
    func bombWritesNothing() throws {
        let tmp = try TempDir("kiln-hostile")
        let root = try tmp.mkdir("root")
        try TarBuilder.write([TarEntry(name: "bomb", zeros: 256 << 20)], to: tmp.sub("bomb.tgz"), compression: "gz")
        #expect(try stat(tmp.sub("bomb.tgz")).st_size < 1 << 20, "the fixture compresses well")
        let extractor = LayerExtractor(root: root, options: .init(maxUncompressedBytes: 16 << 20))
        #expect(throws: LayerExtractor.Error.self) { try extractor.apply(layer: tmp.sub("bomb.tgz")) }
        #expect(!FileManager.default.fileExists(atPath: root + "/bomb"))
    }
}
