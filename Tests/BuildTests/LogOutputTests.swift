// What a CI log shows: every line JSON under --log-format json (the final error included),
// a line for stages skipped as unused, and a warning when the image goes to ./kiln-out.
import Foundation
import TestSupport
import Testing

@Suite("Log output")
struct LogOutputTests {
    @Test func everyLineOfAFailingBuildIsJSON() async throws {
        let tree = try TemporaryTree(prefix: "kiln-json")
        defer { tree.remove() }
        let ctx = try makeContext(["a": "x"], dockerfile: "FROM scratch AS one\nCOPY a /a\nFROM scratch\nCOPY missing /m\n", in: tree)
        let r = try await KilnCommand.run(["-c", ctx, "--log-format", "json", "--oci-layout-path", tree.url("out")])
        #expect(r.exitCode == 1, "\(r)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count >= 3, "\(r.stderr)")
        var last: [String: String] = [:]
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object != nil, "not a JSON object: \(line)")
            #expect(object?["level"] != nil && object?["time"] != nil && object?["msg"] != nil, "\(line)")
            last = object ?? [:]
        }
        #expect(last["level"] == "error" && last["exit_code"] == "1", "\(last)")
        #expect(last["error"]?.contains("Dockerfile:4:1") == true && last["error"]?.contains("missing") == true, "\(last)")
        #expect(r.stderr.contains(#""stage":"1/1""#) && r.stderr.contains(#""step":"1/1""#), "step lines carry stage and step: \(r.stderr)")
    }

    @Test func skippedStagesAndTheDefaultOutputAreSaid() async throws {
        let tree = try TemporaryTree(prefix: "kiln-logs")
        defer { tree.remove() }
        let ctx = try makeContext(["a": "x"], dockerfile: "FROM scratch AS unused\nCOPY a /u\nFROM scratch\nCOPY a /a\n", in: tree)
        let r = try await KilnCommand.run(["-c", ctx], currentDirectory: tree.path)
        #expect(r.exitCode == 0, "\(r)")
        #expect(r.stderr.contains("skipping stages the target does not need: 0 (unused)"), "\(r.stderr)")
        #expect(r.stderr.contains("the image is written to the OCI layout ./kiln-out"), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: tree.url("kiln-out/index.json")))
    }
}

@Suite("Push errors name the network")
struct PushNetworkErrorTests {
    @Test func aRefusedConnectionIsNotCalledAPermissionProblem() async throws {
        let tree = try TemporaryTree(prefix: "kiln-refused")
        defer { tree.remove() }
        let ctx = try makeContext(["a": "x"], dockerfile: "FROM scratch\nCOPY a /a\n", in: tree)
        let port = try LoopbackPort.free()
        let r = try await KilnCommand.run(
            ["-c", ctx, "-d", "127.0.0.1:\(port)/app:1", "--insecure-registry", "127.0.0.1:\(port)"],
            environment: ["KILN_REGISTRY_RETRIES": "0"])
        #expect(r.exitCode == 1, "\(r)")
        #expect(!r.stderr.contains("no permission"), "\(r.stderr)")
        #expect(r.stderr.lowercased().contains("connect"), "the cause names the refused connection: \(r.stderr)")
    }

    @Test("the push check runs beside the build and a failing one stops it mid-step")
    func aFailingPushCheckStopsTheBuild() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-refused")
            defer { tree.remove() }
            let ctx = try makeContext([:], dockerfile: "FROM \(base)\nRUN sleep 60\n", in: tree)
            // A "registry" that answers nothing for 3 s, then hangs up: the check fails while RUN sleeps.
            let port = try LoopbackPort.free()
            let slow = try BackgroundProcess(
                name: "slow-refusal", executable: "python3",
                arguments: [
                    "-c",
                    """
                    import socket, threading, time
                    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", \(port))); s.listen(16)
                    def hang_up(c): time.sleep(3); c.close()
                    while True: threading.Thread(target=hang_up, args=(s.accept()[0],)).start()
                    """,
                ], outputPath: tree.url("slow.log"))
            defer { slow.stop() }
            _ = await BackgroundProcess.waitUntil(timeout: 10) { LoopbackPort.isListening(port) }
            let start = Date()
            let r = try await KilnCommand.run(
                [
                    "-c", ctx, "-d", "127.0.0.1:\(port)/app:1", "--insecure-registry", "127.0.0.1:\(port)", "--insecure-registry",
                    registry.host,
                ],
                environment: ["KILN_REGISTRY_RETRIES": "0"])
            #expect(r.exitCode == 1, "\(r)")
            #expect(r.stderr.contains("cannot check that 127.0.0.1:\(port)/app accepts pushes"), "\(r.stderr)")
            #expect(r.stderr.contains("STEP 1/1: RUN sleep 60"), "the build did not wait for the check: \(r.stderr)")
            #expect(Date().timeIntervalSince(start) < 45, "the 60 s RUN was stopped")
        }
    }
}
