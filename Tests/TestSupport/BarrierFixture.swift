// Tests/Tools/barrier.py as a fixture: an HTTP endpoint whose answer says whether the requests
// of several build steps were waiting at the same moment ("together") or not ("alone").
import Foundation

/// A running barrier server on 127.0.0.1.
public final class BarrierFixture: @unchecked Sendable {
    /// `http://127.0.0.1:PORT/`: what a step fetches.
    public let url: String
    private let directory: FixtureDirectory
    private let process: BackgroundProcess

    /// Starts a barrier for `parties` requests; a request alone for `timeout` seconds is
    /// answered "alone".
    public init(parties: Int = 2, timeout: Double = 60) async throws {
        directory = try FixtureDirectory(prefix: "kiln-barrier")
        let portFile = directory.file("barrier.port")
        do {
            process = try BackgroundProcess(
                name: "barrier", executable: TestTools.python,
                arguments: [
                    TestTools.script("barrier.py"), "--parties", String(parties), "--timeout", String(timeout),
                    "--port-file", portFile,
                ],
                outputPath: directory.file("barrier.out"))
            url = "http://127.0.0.1:\(try await LoopbackPort.read(portFile: portFile, from: process))/"
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Stops the server and removes its files; idempotent, and also done on release.
    public func stop() {
        process.stop()
        directory.remove()
    }

    deinit { stop() }
}
