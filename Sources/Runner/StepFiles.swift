// The sources of the step's /etc/hosts, /etc/resolv.conf and /etc/hostname: written into a
// private temporary directory and bind-mounted read-only, so the image's own files are never
// modified and nothing of the host's is captured into a layer.
import Glibc
import Interruption
import SystemCalls

/// Per-step copies of the host files a build step sees.
struct StepFiles {
    let directory: String
    /// (name under /etc, host path of the source)
    let sources: [(String, String)]
    /// An interrupt removes the directory too (it is outside the build's working directory).
    private let interruptToken: InterruptCleanup.Token

    init(hostname: String) throws(SystemCallError) {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/kiln-step-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
        guard made != nil else { throw SystemCallError(operation: "create a temporary directory in \(base)", errno: errno) }
        directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        interruptToken = InterruptCleanup.removeOnInterrupt(directory)

        var hosts = Self.hostFile("/etc/hosts") ?? "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        if !hosts.isEmpty && !hosts.hasSuffix("\n") { hosts += "\n" }
        hosts += "127.0.1.1\t\(hostname)\n"
        let contents = [
            ("hosts", hosts),
            ("resolv.conf", Self.hostFile("/etc/resolv.conf") ?? ""),
            ("hostname", hostname + "\n"),
        ]
        var sources: [(String, String)] = []
        for (name, text) in contents {
            let path = "\(directory)/\(name)"
            try Self.write(text, to: path)
            sources.append((name, path))
        }
        self.sources = sources
    }

    /// Removes the temporary directory (the step's mounts of these files are gone by then).
    func remove() {
        for (_, path) in sources { unlink(path) }
        rmdir(directory)
        InterruptCleanup.forget(interruptToken)
    }

    private static func hostFile(_ path: String) -> String? {
        guard let bytes = try? RootedDirectory(path: "/").read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func write(_ text: String, to path: String) throws(SystemCallError) {
        let fd = try sys("create \(path)") { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        var remaining = Array(text.utf8)[...]
        while !remaining.isEmpty {
            let count = try sys("write \(path)") { remaining.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
            remaining = remaining.dropFirst(count)
        }
    }
}
