// The comparison on a real distribution: Debian bookworm minbase (debootstrap), apt installing a
// package from Debian's archive, 2,000 new files, edits and a deletion in the base.
import Foundation
import TestSupport
import Testing

extension ComparisonCase {
    /// apt leaves files whose bytes depend on the moment or on the run, whatever the builder.
    static let bookworm = ComparisonCase(name: "bookworm-apt", bases: [.bookworm], exclusions: [])
}

extension EndToEnd {
    @Suite struct BookwormComparison {
        @Test("FROM debian + apt-get install: kiln builds the same image as buildah")
        func aptInstall() async throws {
            let c = ComparisonCase.bookworm
            let outcome = try await ComparisonRunner.run(c)
            for mode in c.modes {
                let diffs = outcome.differences[mode] ?? ["no kiln image for \(mode.rawValue)"]
                #expect(
                    diffs.isEmpty,
                    "\(c.name), --snapshot-mode \(mode.rawValue): \(diffs.count) difference(s)\n\(diffs.joined(separator: "\n"))")
                let tree = try #require(outcome.kiln[mode])
                #expect(tree.entries["/usr/bin/hello"]?.kind == .file, "hello was not installed (\(mode.rawValue))")
                #expect(tree.entries.keys.filter { $0.hasPrefix("/many/") }.count == 2000)
            }
        }
    }
}
