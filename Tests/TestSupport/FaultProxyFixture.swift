// The fault-injecting proxy (Tests/Tools/fault-proxy.py) as a test fixture, and the request
// records both it and the registry's access log yield.
import Foundation

/// One HTTP request a server saw and the status it answered (0: the connection was reset).
public struct HTTPRequestRecord: Sendable, Decodable, Equatable, CustomStringConvertible {
    public var method: String
    /// Path with its query string.
    public var path: String
    public var status: Int
    /// For the proxy: `pass` or the fault it injected.
    public var action: String?
    /// For the proxy: when the request finished (seconds since 1970).
    public var time: Double?
    /// For the proxy: request body bytes it read, and response body bytes it sent.
    public var requestBytes: Int?
    public var responseBytes: Int?

    enum CodingKeys: String, CodingKey {
        case method, path, status, action, time
        case requestBytes = "request_bytes"
        case responseBytes = "response_bytes"
    }

    public init(method: String, path: String, status: Int, action: String? = nil) {
        self.method = method
        self.path = path
        self.status = status
        self.action = action
    }

    public var description: String { "\(method) \(path) → \(status)\(action.map { " (\($0))" } ?? "")" }

    /// True for requests that start or carry a blob upload (POST/PATCH/PUT on `/blobs/uploads/`).
    public var isBlobUpload: Bool {
        ["POST", "PATCH", "PUT"].contains(method) && path.contains("/blobs/uploads/")
    }

    /// True for requests that carry blob bytes: PATCH/PUT on an upload session, or a POST
    /// with `digest=` (single-request upload). A bare POST only opens a session (kiln's push
    /// permission check opens one and deletes it).
    public var carriesBlobData: Bool {
        guard path.contains("/blobs/uploads/") else { return false }
        return method == "PATCH" || method == "PUT" || (method == "POST" && path.contains("digest="))
    }

    /// Parses the combined-format access log distribution writes to stderr:
    /// `127.0.0.1 - - [date] "PATCH /v2/... HTTP/1.1" 202 0 "" "agent"`.
    public static func parseAccessLog(_ text: String) -> [HTTPRequestRecord] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("time="), let open = line.firstIndex(of: "\"") else { return nil }
            let rest = line[line.index(after: open)...]
            guard let close = rest.firstIndex(of: "\"") else { return nil }
            let request = rest[..<close].split(separator: " ")
            let after = rest[rest.index(after: close)...].split(separator: " ")
            guard request.count == 3, request[2].hasPrefix("HTTP/"), let status = after.first.flatMap({ Int($0) })
            else { return nil }
            return HTTPRequestRecord(method: String(request[0]), path: String(request[1]), status: status)
        }
    }
}

/// One fault the proxy injects into the first `times` requests matching `method` and `path`.
public struct FaultRule: Sendable, Encodable {
    public var method: String
    public var path: String
    public var action: String
    public var after: Int?
    public var status: Int?
    /// Seconds for the `Retry-After` header of a `status` fault (snake case: the rule file's key).
    public var retry_after: Int?
    public var seconds: Double?
    public var times: Int
    /// Matching requests let through before the rule applies.
    public var skip: Int = 0
    /// For `throttle`: bytes a second, each way.
    public var rate: Int?
    /// When set, the rule applies to every `every`-th matching request, forever (not `times`).
    public var every: Int?
    /// When true, only requests that carry a body match (snake case: the rule file's key).
    public var with_body: Bool?

    /// The same rule, matching only requests that carry a body.
    public func carryingABody() -> FaultRule {
        var r = self
        r.with_body = true
        return r
    }

    /// The same rule, applied to every `n`-th matching request (n, 2n, 3n...) instead of the
    /// first `times`.
    public func everyNth(_ n: Int) -> FaultRule {
        var r = self
        r.every = n
        return r
    }

    /// Reset the connection after `afterBytes` of the request body.
    public static func resetRequest(_ method: String = "PATCH|PUT", path: String, afterBytes: Int, times: Int = 1) -> FaultRule {
        FaultRule(method: method, path: path, action: "reset-request", after: afterBytes, times: times)
    }
    /// Forward, then reset after `afterBytes` of the response body.
    public static func resetResponse(_ method: String = "GET", path: String, afterBytes: Int, times: Int = 1) -> FaultRule {
        FaultRule(method: method, path: path, action: "reset-response", after: afterBytes, times: times)
    }
    /// Answer `status` without forwarding (with `Retry-After` when given).
    public static func status(_ status: Int, _ method: String = ".*", path: String, retryAfter: Int? = nil, times: Int = 1) -> FaultRule {
        FaultRule(method: method, path: path, action: "status", status: status, retry_after: retryAfter, times: times)
    }
    /// Forward, but flip the bits of the body byte at `offset` (status and length stay right).
    public static func corruptResponse(_ method: String = "GET", path: String, offset: Int = 0, times: Int = 1) -> FaultRule {
        FaultRule(method: method, path: path, action: "corrupt-response", after: offset, times: times)
    }
    /// Forward every matching request, reading its body and sending the answer's at
    /// `bytesPerSecond` (a slow link).
    public static func throttle(_ method: String = ".*", path: String, bytesPerSecond: Int) -> FaultRule {
        var r = FaultRule(method: method, path: path, action: "throttle", times: 1 << 30)
        r.rate = bytesPerSecond
        return r
    }
    /// The same rule, applied only after `count` matching requests have passed.
    public func skipping(_ count: Int) -> FaultRule {
        var r = self
        r.skip = count
        return r
    }
    /// Forward, but stop sending for `seconds`: before the answer, or after its headers and
    /// `afterBytes` of its body.
    public static func stall(_ method: String = ".*", path: String, seconds: Double, afterBytes: Int? = nil, times: Int = 1) -> FaultRule {
        FaultRule(method: method, path: path, action: "stall", after: afterBytes, seconds: seconds, times: times)
    }
}

/// A running fault proxy in front of a plain-HTTP registry.
public final class FaultProxyFixture: @unchecked Sendable {
    /// `127.0.0.1:PORT`: use it as the registry host in references.
    public let host: String
    public let port: Int
    public let logPath: String
    private let directory: FixtureDirectory
    private let process: BackgroundProcess

    /// Starts the proxy in front of `upstream` (`127.0.0.1:PORT` of a plain-HTTP registry) and
    /// waits until it listens.
    public init(upstream: String, rules: [FaultRule]) async throws {
        directory = try FixtureDirectory(prefix: "kiln-fault-proxy")
        let rulesPath = directory.file("rules.json")
        let portFile = directory.file("proxy.port")
        logPath = directory.file("requests.jsonl")
        do {
            try JSONEncoder().encode(rules).write(to: URL(fileURLWithPath: rulesPath))
            process = try BackgroundProcess(
                name: "fault-proxy", executable: TestTools.python,
                arguments: [
                    TestTools.script("fault-proxy.py"), "--upstream", upstream, "--rules", rulesPath,
                    "--log", logPath, "--port-file", portFile,
                ],
                outputPath: directory.file("proxy.out"))
            port = try await LoopbackPort.read(portFile: portFile, from: process)
        } catch {
            directory.remove()
            throw error
        }
        host = "127.0.0.1:\(port)"
    }

    /// Every request the proxy saw so far, in order of completion.
    public func requests() -> [HTTPRequestRecord] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(HTTPRequestRecord.self, from: Data($0.utf8)) }
    }

    /// The proxy's own output (tracebacks), for failure messages.
    public var output: String { process.output }

    /// Stops the proxy and removes its files; idempotent, and also done on release.
    public func stop() {
        process.stop()
        directory.remove()
    }

    deinit { stop() }
}
