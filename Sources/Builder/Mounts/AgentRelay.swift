// `RUN --mount=type=ssh,uid=…,gid=…,mode=…`: the step gets a socket of its own with that owner
// and mode, and every connection to it is relayed to the agent passed with `--ssh`. The agent's
// socket is never chmod'ed or chown'ed (it is the user's), and the agent sees kiln as its peer.
import FoundationEssentials
import Glibc
import PluginSupport

/// A listening unix socket relaying each connection to an ssh agent, until `stop()`.
final class AgentRelay: @unchecked Sendable {
    let path: String
    private let agent: String
    private let listener: Int32
    private let wake: (read: Int32, write: Int32)

    enum Error: Swift.Error, CustomStringConvertible {
        case socket(String, errno: Int32)
        var description: String {
            switch self {
            case .socket(let what, let errno): return "ssh agent relay: \(what): \(String(cString: strerror(errno)))"
            }
        }
    }

    /// Listens at `path` (which must not exist) with the given owner and mode.
    init(at path: String, agent: String, uid: uid_t, gid: gid_t, mode: mode_t) throws {
        self.path = path
        self.agent = agent
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Error.socket("socket", errno: errno) }
        var pipeEnds: [Int32] = [-1, -1]
        guard Self.withAddress(path, { bind(fd, $0, $1) }) == 0, listen(fd, 16) == 0,
            chown(path, uid, gid) == 0, chmod(path, mode) == 0, pipe(&pipeEnds) == 0
        else {
            let saved = errno
            close(fd)
            throw Error.socket("listen at \(path)", errno: saved)
        }
        // pipe2 and accept4 need _GNU_SOURCE; a RUN child closes inherited descriptors anyway.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        listener = fd
        wake = (pipeEnds[0], pipeEnds[1])
        startThread(named: "kiln-ssh-agent") { [self] in acceptLoop() }
    }

    /// Stops accepting; connections in flight end when the step's side closes (the step is over
    /// by then, so they do at once).
    func stop() {
        _ = write(wake.write, "x", 1)
    }

    private func acceptLoop() {
        defer {
            close(listener)
            close(wake.read)
            close(wake.write)
        }
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let upstream = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard upstream >= 0, Self.withAddress(agent, { connect(upstream, $0, $1) }) == 0 else {
                if upstream >= 0 { close(upstream) }
                close(client)
                continue
            }
            startThread(named: "kiln-ssh-relay") { Self.relay(client, upstream) }
        }
    }

    /// Copies both ways until either side closes.
    private static func relay(_ a: Int32, _ b: Int32) {
        defer {
            close(a)
            close(b)
        }
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            for (from, to) in [(0, b), (1, a)] where fds[from].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[from].fd, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                var sent = 0
                while sent < count {
                    let n = buffer[sent..<count].withUnsafeBytes { write(to, $0.baseAddress, $0.count) }
                    guard n > 0 else { return }
                    sent += n
                }
            }
        }
    }

    /// Calls `body` with a `sockaddr_un` for `path`; -1 with ENAMETOOLONG when it does not fit.
    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            errno = ENAMETOOLONG
            return -1
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
