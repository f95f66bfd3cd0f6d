// Helpers shared by the FROM-scratch build tests: the repository's example, building with the
// real `kiln` binary, and reading what it wrote.
import Foundation
import ImageStore
import PluginAPI
import TestSupport
import Testing

enum Repo {
    /// The repository root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var helloExample: String { root + "/examples/hello" }
}

/// A build into an OCI layout, with its result read back.
struct LayoutBuild {
    let result: ProcessResult
    let layout: String

    /// Builds `context` with `arguments` into a fresh OCI layout under `tree`.
    static func run(
        context: String, in tree: TemporaryTree, name: String = "out", _ arguments: [String] = [],
        environment: [String: String?] = [:]
    ) async throws -> LayoutBuild {
        let layout = tree.url(name)
        let result = try await KilnCommand.run(["--context", context, "--oci-layout-path", layout] + arguments, environment: environment)
        return LayoutBuild(result: result, layout: layout)
    }

    /// The digest kiln printed on stdout.
    var printedDigest: String { result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    func image() throws -> Image { try OCILayoutReader(path: layout).image(refName: "latest") }

    /// Unpacks the image with umoci (an independent reader) and returns the rootfs path.
    func unpack(into tree: TemporaryTree) async throws -> String {
        let bundle = tree.url("bundle-" + UUID().uuidString.prefix(8))
        let r = try await ProcessRunner.run("umoci", ["unpack", "--image", layout + ":latest", bundle])
        #expect(r.succeeded, "umoci unpack: \(r)")
        return bundle + "/rootfs"
    }
}

/// A context directory written by a test.
func makeContext(_ files: [String: String], dockerfile: String, in tree: TemporaryTree) throws -> String {
    let ctx = "ctx-" + UUID().uuidString.prefix(8)
    try tree.makeDirectory(ctx)
    _ = try tree.write(ctx + "/Dockerfile", dockerfile)
    for (path, content) in files {
        if let slash = path.lastIndex(of: "/") {
            let parent = String(path[..<slash])
            try FileManager.default.createDirectory(atPath: tree.url(ctx + "/" + parent), withIntermediateDirectories: true)
        }
        _ = try tree.write(ctx + "/" + path, content)
    }
    return tree.url(ctx)
}

func fileStat(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}
