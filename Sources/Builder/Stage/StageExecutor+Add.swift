import Archive
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import PluginAPI
import PluginSupport

extension StageExecutor {
    func execute(_ add: AddInstruction) async throws {
        let copier = FileCopier(
            root: root, owner: try owner(add.chown, default: FileCopier.Owner(uid: 0, gid: 0), location: add.location),
            chmod: try chmodSpec(add.chmod, location: add.location))
        var local: [CopySource] = []
        var remote: [String] = []
        var git: [String] = []
        for source in add.sources {
            if case .path(let p) = source, GitSource.isGit(p) {
                git.append(p)
            } else if case .path(let p) = source, Self.isURL(p) {
                remote.append(p)
            } else {
                local.append(source)
            }
        }
        if add.checksum != nil && !local.isEmpty {
            throw KilnError.at(add.location, .invalidInput, "ADD --checksum applies only to URL sources")
        }
        let dest = imagePath(add.destination)
        let many = add.sources.count > 1
        if many && !dest.hasSuffix("/") {
            throw KilnError.at(
                add.location, .invalidInput,
                "when using ADD with more than one source file, the destination must be a directory and end with a /")
        }
        for url in git { try await addGit(url, to: dest, add: add, copier: copier) }
        for url in remote {
            try await download(url, to: dest, intoDirectory: dest.hasSuffix("/") || many, add: add, copier: copier)
        }
        if !local.isEmpty {
            let unpackTars = add.unpack ?? true
            let explicitOwner = add.chown != nil
            let scratch = session.workDirectory + "/add-\(stepNumber)-\(stage.index)"
            try copying(add.location, add.original) {
                try copyFiles(
                    local, to: add.destination, tree: session.context, copier: copier, parents: false,
                    excludes: add.excludes, location: add.location, keyword: "ADD"
                ) { host, dest in
                    // A local tar (plain or compressed) is unpacked into the destination directory.
                    guard unpackTars, LayerExtractor.isArchive(host) else { return false }
                    try? removeTree(scratch)
                    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                    defer { try? removeTree(scratch) }
                    try LayerExtractor.extract(tar: host, into: scratch, at: "")
                    let dir = try copier.prepareDirectory(dest)
                    // The archive's entries are not context paths: .dockerignore does not apply; and
                    // they keep the owners the tar records unless --chown says otherwise (tar -x).
                    let excludes = copier.excludes
                    let owner = copier.owner
                    copier.excludes = nil
                    if !explicitOwner { copier.owner = nil }
                    defer {
                        copier.excludes = excludes
                        copier.owner = owner
                    }
                    try copier.copyContents(ofDirectory: scratch, into: dir)
                    return true
                }
            }
        }
        try await commitCopied(copier, createdBy: add.original)
    }

    static func isURL(_ s: String) -> Bool {
        s.hasPrefix("http://") || s.hasPrefix("https://") || s.hasPrefix("git@")
    }

    /// Downloads a URL source; Docker's rules: mode 0600, mtime from `Last-Modified`, the name
    /// from the URL's last path component when the destination is a directory.
    func download(_ url: String, to dest: String, intoDirectory: Bool, add: AddInstruction, copier: FileCopier) async throws {
        let temp = session.workDirectory + "/download-\(stepNumber)-\(stage.index)"
        let agent = session.options.execution.userAgent
        log.info("downloading \(redactingURLCredentials(url))")
        let result: URLDownloader.Download
        do {
            result = try await URLDownloader.fetch(url, to: temp, userAgent: agent, log: log.pluginSink)
        } catch {
            unlink(temp)
            throw KilnError.at(add.location, "", cause: error, fallback: .network)
        }
        defer { unlink(temp) }
        if let expected = add.checksum, expected != result.digest.description {
            throw KilnError.at(
                add.location, "", cause: URLDownloader.Error.checksum(url: url, expected: expected, actual: result.digest),
                fallback: .invalidInput)
        }
        var name = URL(string: url)?.lastPathComponent ?? ""
        if name.isEmpty || name == "/" { name = "index.html" }
        let target = intoDirectory ? (dest.hasSuffix("/") ? dest : dest + "/") + name : dest
        let mtime = result.lastModified.map { timespec(tv_sec: Int($0), tv_nsec: 0) } ?? Self.now()
        try copying(add.location, add.original) { try copier.write(.file(temp), to: target, permissions: 0o600, mtime: mtime) }
    }
}
