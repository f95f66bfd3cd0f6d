// Ports on 127.0.0.1 for the servers tests start.
import Foundation

/// Free-port discovery and readiness checks on the loopback interface.
public enum LoopbackPort {
    public enum Error: Swift.Error, CustomStringConvertible {
        case socket(String, errno: Int32)
        public var description: String {
            switch self {
            case .socket(let what, let e): return "\(what) on 127.0.0.1 failed: \(String(cString: strerror(e)))"
            }
        }
    }

    /// A port the kernel considers free right now (bind port 0, read it back, close). Another
    /// process may take it before the caller binds it: callers retry on "address already in use".
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Error.socket("socket", errno: errno) }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Error.socket("bind", errno: errno) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw Error.socket("getsockname", errno: errno) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return addr
    }

    /// Waits for a port file a helper script writes once it listens, and returns the port.
    public static func read(portFile: String, from process: BackgroundProcess, timeout: Double = 15) async throws -> Int {
        var port: Int?
        let ok = await BackgroundProcess.waitUntil(timeout: timeout) {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                port = p
                return true
            }
            return !process.isRunning
        }
        guard ok, let port else { throw ServerStartError(name: process.name, output: process.outputTail()) }
        return port
    }
}

/// A test server did not come up; carries the end of its output.
public struct ServerStartError: Error, CustomStringConvertible {
    public var name: String
    public var output: String
    public init(name: String, output: String) {
        self.name = name
        self.output = output
    }
    public var description: String { "\(name) did not start; its last output:\n\(output)" }
}

/// Paths of the helper scripts in `Tests/Tools`.
public enum TestTools {
    /// `Tests/Tools`, found from this source file's location.
    public static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tools").path
    }

    /// The path of the script `name` in `Tests/Tools`.
    public static func script(_ name: String) -> String { directory + "/" + name }

    /// Debian's Python: the scripts need its `python3-cryptography`, which a pyenv or venv
    /// interpreter first on PATH may lack.
    public static let python = "/usr/bin/python3"
}
