import Diagnostics
import Dockerfile
import FoundationEssentials
import PluginSupport

extension StageExecutor {
    /// `ADD <git URL> <dest>` (BuildKit): the repository's tree at the ref (submodules included)
    /// copied into the destination directory, `.git` dropped unless `--keep-git-dir`, and
    /// `--checksum=<commit>` checked against the commit the ref resolved to.
    func addGit(_ url: String, to dest: String, add: AddInstruction, copier: FileCopier) async throws {
        guard let source = GitSource(url) else { throw KilnError.at(add.location, .internal, "\(url) is not a git URL") }
        if let expected = add.checksum, !GitSource.isCommitID(expected) {
            throw KilnError.at(
                add.location, .invalidInput,
                "ADD --checksum=\(expected) for the git source \(source.displayName) must be a commit ID (hex digits)")
        }
        var options = GitCheckout.Options()
        options.recurseSubmodules = true
        let checkout = GitCheckout(source: source, options: options, environment: session.options.source.environment)
        let directory = session.workDirectory + "/git-\(stage.index)-\(stepNumber)"
        try? removeTree(directory)
        defer { try? removeTree(directory) }
        log.info("cloning \(source.displayName)")
        let commit: String
        let tree: String
        do {
            commit = try await runBlocking { try checkout.checkout(into: directory) }
            if let expected = add.checksum, !commit.hasPrefix(expected.lowercased()) {
                throw GitCheckout.Error.checksum(source: source.displayName, expected: expected, actual: commit)
            }
            tree = try GitCheckout.contextDirectory(
                of: directory, source: source, keepGitDirectory: add.keepGitDir || source.keepGitDirectory == true)
        } catch {
            throw KilnError.at(add.location, "ADD \(source.displayName)", cause: error, fallback: .network)
        }
        log.info("checked out \(source.displayName) at \(commit)")
        try copying(add.location, add.original) {
            let dir = try copier.prepareDirectory(dest)
            // The repository's files are not context paths: .dockerignore does not apply.
            let excludes = copier.excludes
            copier.excludes = nil
            defer { copier.excludes = excludes }
            try copier.copyContents(ofDirectory: tree, into: dir)
        }
    }
}
