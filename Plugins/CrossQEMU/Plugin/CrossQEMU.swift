// CrossQEMU: RUN steps for another architecture, under QEMU user mode (Debian's
// qemu-user-static) through the kernel's binfmt_misc.
//
// What the host does with it (`--cross auto|qemu|native`), for each target platform whose
// stages contain RUN, before any layer is pulled:
//
//   let backend = plugins.crossBuildBackend(named: "qemu")
//   native: never call the backend. A platform that is not the host's (compare with
//           `Platform.host`; i386 on amd64 counts as native) fails at once: "RUN for linux/arm64
//           on this linux/amd64 machine needs emulation, which --cross native forbids", never an
//           "exec format error" from inside the step.
//   auto:   `status(for:)`: `.native` → run natively; `.emulated` → `prepare(for:)`;
//           `.unavailable(reason)` → fail with the reason (it names what is missing and the one
//           command that provides it). No plugin loaded → fail saying the CrossQEMU plugin is
//           needed.
//   qemu:   as auto, but the plugin must be loaded and `status` must not be `.unavailable`
//           for any foreign platform (checked for all platforms first, then prepared).
//
// Then: keep each `CrossBuildSession`, run the RUN steps, and call `release(_:)` once per
// session when the platform's build ends, on success and on failure (a `defer` around the
// build). On SIGINT/SIGTERM the host's handler calls `backend.releaseAll()` (synchronous,
// allocation- and lock-free, idempotent) before exiting; the plugin also registers an atexit
// hook doing the same, so exit() without release leaves binfmt_misc as found. SIGKILL cannot be
// caught: a stale `kiln-qemu-<arch>` entry (F flag) is then left, which the next run uses as an
// existing registration; `echo -1 > /proc/sys/fs/binfmt_misc/kiln-qemu-<arch>` removes it.
//
// Plugin option: `--plugin-option qemu-dir=DIR[:DIR…]` searches DIR for qemu-<arch>-static
// instead of /usr/bin and /usr/local/bin.
import CrossQEMUBackend
import PluginAPI

/// The plugin API version this plugin was compiled against (checked before anything else).
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(CrossQEMUModule()).toOpaque()
}

final class CrossQEMUModule: KilnPluginModule {
    let name = "CrossQEMU"
    let summary = "runs foreign-architecture RUN steps under QEMU user mode (binfmt_misc)"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        let dirs = context.options["qemu-dir"].map { $0.split(separator: ":").map(String.init) }
        return [QEMUUserBackend(log: context.log, interpreterDirectories: dirs ?? QEMUUserBackend.defaultInterpreterDirectories)]
    }
}
