import Archive
import Diagnostics
import FoundationEssentials
import Glibc
import PluginSupport

/// Turns a context that is not a local directory into one, before the Dockerfile is read:
/// `tar://FILE`, `tar://stdin` (and `-`), a git repository, or an `http(s)://` tarball (gzip or
/// plain; its content is the context, as BuildKit and kaniko take it). The Dockerfile is then
/// looked up inside that context first (kaniko reads it from the tar; BuildKit from the repository).
public enum RemoteContext {
    /// Why a context could not be fetched.
    public enum Error: Swift.Error, CustomStringConvertible {
        case unsupportedScheme(String)
        case download(url: String, reason: String)
        case emptyStandardInput

        public var description: String {
            switch self {
            case .unsupportedScheme(let context):
                let scheme = context.firstRange(of: "://").map { String(context[..<$0.lowerBound]) + "://" } ?? context
                return "build context '\(redactingURLCredentials(context))': kiln does not support \(scheme) contexts; "
                    + "it takes a directory (DIR or dir://DIR), a tarball (tar://FILE, tar://stdin or -), "
                    + "a git repository (git://…, ssh://…, git@host:repo, http(s)://….git, each with #ref:subdir) "
                    + "or an http(s):// tarball"
            case .download(let url, let reason): return "build context \(url): \(reason)"
            case .emptyStandardInput: return "build context tar://stdin: standard input is empty"
            }
        }
    }

    /// Schemes kiln takes as contexts.
    static let schemes = ["dir://", "tar://", "git://", "ssh://", "http://", "https://"]

    /// Whether the context must be fetched or unpacked first.
    public static func isRemote(_ context: String) -> Bool {
        context == "-" || context.contains("://") && !context.hasPrefix("dir://") || GitSource.isGit(context)
    }

    /// `source` with its context materialised under `workDirectory` (a directory), and a relative
    /// Dockerfile that exists inside that context made absolute. A local context is returned as is.
    public static func resolve(
        _ source: SourceOptions, git: GitCheckout.Options, workDirectory: String, userAgent: String, log: BuildLog
    ) async throws -> SourceOptions {
        let spec = source.context
        guard isRemote(spec) else { return source }
        var resolved = source
        let directory = workDirectory + "/context"
        try? removeTree(directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var dockerfileOnly: String?
        if let repository = GitSource(spec) {
            log.info("cloning \(repository.displayName)")
            let checkout = GitCheckout(source: repository, options: git, environment: source.environment)
            let commit = try await runBlocking { try checkout.checkout(into: directory) }
            log.info("checked out \(repository.displayName) at \(commit)")
            resolved.context = try GitCheckout.contextDirectory(
                of: directory, source: repository, keepGitDirectory: repository.keepGitDirectory ?? false)
        } else if spec == "-" || spec == "tar://stdin" {
            let file = workDirectory + "/context-stdin"
            try await runBlocking { try saveStandardInput(to: file) }
            if spec == "-" && !LayerExtractor.isArchive(file) {
                // `docker build -` with a Dockerfile on stdin: no context at all.
                dockerfileOnly = file
            } else {
                log.info("unpacking the build context from standard input")
                try unpack(file, into: directory)
            }
            unlink(file)
            resolved.context = directory
        } else if spec.hasPrefix("tar://") {
            try unpack(String(spec.dropFirst("tar://".count)), into: directory)
            resolved.context = directory
        } else if spec.hasPrefix("http://") || spec.hasPrefix("https://") {
            let file = workDirectory + "/context-download"
            let shown = redactingURLCredentials(spec)
            log.info("downloading the build context \(shown)")
            do {
                _ = try await URLDownloader.fetch(spec, to: file, userAgent: userAgent, log: log.pluginSink)
            } catch let error as URLDownloader.Error {
                unlink(file)
                switch error {
                case .http(_, let status): throw Error.download(url: shown, reason: "the server answered HTTP \(status)")
                case .transfer(_, let reason):
                    throw Error.download(url: shown, reason: "download failed: \(redactingURLCredentials(reason))")
                case .checksum: throw Error.download(url: shown, reason: "\(error)")
                }
            }
            if LayerExtractor.isArchive(file) {
                try unpack(file, into: directory)
                unlink(file)
            } else {
                // BuildKit: a URL to a plain text file is the Dockerfile, with an empty context.
                dockerfileOnly = file
            }
            resolved.context = directory
        } else {
            throw Error.unsupportedScheme(spec)
        }
        if let dockerfileOnly {
            resolved.dockerfile = dockerfileOnly
            return resolved
        }
        if !resolved.dockerfile.hasPrefix("/") {
            var candidates: [String] = []
            if let sub = source.contextSubPath, !sub.isEmpty {
                candidates.append(resolved.context + "/" + BuildRoot.relative(sub) + "/" + resolved.dockerfile)
            }
            candidates.append(resolved.context + "/" + resolved.dockerfile)
            if let inside = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { resolved.dockerfile = inside }
        }
        return resolved
    }

    static func unpack(_ tar: String, into directory: String) throws {
        _ = try LayerExtractor.extract(tar: tar, into: directory, at: "")
    }

    /// Copies standard input to `path` (0600).
    static func saveStandardInput(to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KilnError(KilnError.code(errno: errno), "cannot create \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw KilnError(KilnError.code(errno: errno), "reading the build context from standard input") }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { raw in raw.baseAddress.map { write(fd, $0 + written, n - written) } ?? -1 }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw KilnError(KilnError.code(errno: errno), "writing \(path)") }
                written += w
            }
            total += n
        }
        guard total > 0 else { throw Error.emptyStandardInput }
    }
}

extension RemoteContext.Error: DiagnosticCoded {
    public var diagnosticCode: KilnError.Code {
        switch self {
        case .unsupportedScheme: return .usage
        case .download: return .network
        case .emptyStandardInput: return .invalidInput
        }
    }
}
