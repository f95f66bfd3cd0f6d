// A stand-in for the kiln host in CrossQEMUTests' cleanup tests. It reaches the backend the way
// kiln does (dlopen of libKilnPluginCrossQEMU.so, its entry point, the contract's protocol), so
// the plugin's atexit hook is that of a loaded library. It prepares emulation for a
// platform, prints "ready", then either waits for SIGTERM, whose handler calls `releaseAll()`
// as kiln's must, or calls exit(0) without releasing, leaving it to the plugin's atexit hook.
// `status` prints status(for:) and what prepare(for:) returns or throws (for the tests that run
// it without CAP_SYS_ADMIN, as in an unprivileged CI container).
//
// Usage: QEMUCleanupHelper <libKilnPluginCrossQEMU.so> <platform> signal|exit|status
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
guard arguments.count == 4, let platform = try? Platform(parsing: arguments[2]), ["signal", "exit", "status"].contains(arguments[3]) else {
    fail("usage: QEMUCleanupHelper <plugin.so> <platform> signal|exit|status")
}
// Assumes, as kiln does, that the library exports `kiln_plugin_entry` returning a +1 retained
// KilnPluginModule built against this PluginAPI (a test build of the same tree).
typealias Entry = @convention(c) () -> UnsafeMutableRawPointer?
guard let library = dlopen(arguments[1], RTLD_NOW | RTLD_LOCAL), let symbol = dlsym(library, kilnPluginEntrySymbol),
    let entry = unsafeBitCast(symbol, to: Entry.self)(),
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

if arguments[3] == "status" {
    print("status: \(await found.status(for: platform))")
    do {
        let session = try await found.prepare(for: platform)
        print("prepared: entries=\(session.registeredEntries) mounted=\(session.mountedBinfmtMisc)")
        try await found.release(session)
    } catch {
        print("prepare failed: \(error)")
    }
    exit(0)
}

do {
    let session = try await found.prepare(for: platform)
    FileHandle.standardOutput.write(Data("ready \(session.registeredEntries) mounted=\(session.mountedBinfmtMisc)\n".utf8))
} catch {
    fail("prepare failed: \(error)")
}
if arguments[3] == "exit" { exit(0) }
while true { pause() }
