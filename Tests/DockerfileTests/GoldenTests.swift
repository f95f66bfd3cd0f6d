// Golden files: each folder under testfiles/ holds a Dockerfile and the `result` its parse
// dumps to; each folder under testfiles-negative/ a Dockerfile and the `error` it must give.
// (The layout follows BuildKit's parser/testfiles; the cases are written for kiln.)
// KILN_RECORD_GOLDEN=1 rewrites the expected files in the source tree from the current output.
import Dockerfile
import Foundation
import Testing

enum Golden {
    static let record = ProcessInfo.processInfo.environment["KILN_RECORD_GOLDEN"] == "1"

    /// The folder in the test bundle (read) and in the source tree (recorded).
    static func cases(_ folder: String) -> [String] {
        guard let root = Bundle.module.url(forResource: folder, withExtension: nil) else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    static func bundled(_ folder: String, _ name: String, _ file: String) throws -> String {
        guard let root = Bundle.module.url(forResource: folder, withExtension: nil) else {
            throw GoldenError.missing("\(folder) is not in the test bundle")
        }
        return try String(contentsOf: root.appendingPathComponent(name).appendingPathComponent(file), encoding: .utf8)
    }

    static func sourceURL(_ folder: String, _ name: String, _ file: String, path: String = #filePath) -> URL {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(folder)
            .appendingPathComponent(name).appendingPathComponent(file)
    }

    enum GoldenError: Error { case missing(String) }
}

@Suite struct GoldenTests {
    @Test("testfiles: each Dockerfile parses to its recorded dump", arguments: Golden.cases("testfiles"))
    func parsesToRecordedDump(name: String) throws {
        let text = try Golden.bundled("testfiles", name, "Dockerfile")
        let dump: String
        do {
            dump = try Dockerfile.parse(text, fileName: "Dockerfile").dump
        } catch {
            Issue.record("\(name): \(error)")
            return
        }
        if Golden.record {
            try dump.write(to: Golden.sourceURL("testfiles", name, "result"), atomically: false, encoding: .utf8)
            return
        }
        guard let expected = try? Golden.bundled("testfiles", name, "result") else {
            Issue.record("\(name): no recorded result; run the tests once with KILN_RECORD_GOLDEN=1 and review the file")
            return
        }
        #expect(dump == expected, "\(name): dump differs; re-record with KILN_RECORD_GOLDEN=1 if the change is intended")
    }

    @Test("testfiles-negative: each Dockerfile fails with its recorded error", arguments: Golden.cases("testfiles-negative"))
    func failsWithRecordedError(name: String) throws {
        let text = try Golden.bundled("testfiles-negative", name, "Dockerfile")
        var message = "(parsed without error)"
        do {
            _ = try Dockerfile.parse(text, fileName: "Dockerfile")
        } catch {
            message = "\(error)"
        }
        if Golden.record {
            try (message + "\n").write(to: Golden.sourceURL("testfiles-negative", name, "error"), atomically: false, encoding: .utf8)
            return
        }
        guard let recorded = try? Golden.bundled("testfiles-negative", name, "error") else {
            Issue.record("\(name): no recorded error; run the tests once with KILN_RECORD_GOLDEN=1 and review the file")
            return
        }
        let expected = recorded.trimmingCharacters(in: .newlines)
        #expect(message == expected, "\(name)")
    }

    @Test func goldenFoldersArePresent() {
        #expect(Golden.cases("testfiles").count >= 20)
        #expect(Golden.cases("testfiles-negative").count >= 15)
    }
}
