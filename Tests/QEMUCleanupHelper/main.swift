// A stand-in for the kiln host in CrossQEMUTests' cleanup tests. It reaches the backend the way
// kiln does (the plugin's entry point, the contract's protocol), prepares emulation for a
// platform, prints "ready", then either waits for SIGTERM, whose handler calls `releaseAll()`
// as kiln's must, or calls exit(0) without releasing, leaving it to the plugin's atexit hook.
//
// Usage: QEMUCleanupHelper <platform> signal|exit
import CrossQEMU
import Foundation
import Glibc
import PluginAPI

/// Read by the signal handler, which can capture nothing. Set once before the handler is installed.
nonisolated(unsafe) var backend: (any CrossBuildBackend)?

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let platform = try? Platform(parsing: arguments[1]), ["signal", "exit"].contains(arguments[2]) else {
    fail("usage: QEMUCleanupHelper <platform> signal|exit")
}
guard let entry = kilnPluginEntry(),
    let module = Unmanaged<AnyObject>.fromOpaque(entry).takeRetainedValue() as? any KilnPluginModule,
    let found = try module.makeComponents(context: PluginContext()).compactMap({ $0 as? any CrossBuildBackend }).first
else { fail("the CrossQEMU plugin offers no cross-build backend") }
backend = found

signal(SIGTERM) { _ in
    backend?.releaseAll()
    let text: StaticString = "released on SIGTERM\n"
    _ = write(1, text.utf8Start, text.utf8CodeUnitCount)
    _exit(0)
}

do {
    let session = try await found.prepare(for: platform)
    FileHandle.standardOutput.write(Data("ready \(session.registeredEntries) mounted=\(session.mountedBinfmtMisc)\n".utf8))
} catch {
    fail("prepare failed: \(error)")
}
if arguments[2] == "exit" { exit(0) }
while true { pause() }
