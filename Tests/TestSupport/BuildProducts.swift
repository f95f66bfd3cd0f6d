// Where the build put kiln's binaries and plugin libraries, found from the running test binary.
import Foundation

/// The SwiftPM products directory that holds the test runner, `kiln`, `libPluginAPI.so` and the
/// in-tree `libKilnPlugin*.so` (`swift test` builds every product into it).
public enum BuildProducts {
    /// Directory of `/proc/self/exe` with symlinks resolved (not argv[0], which may be relative).
    public static var directory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
    }

    /// The path of an in-tree plugin library, e.g. `plugin("SnapshotTime")`.
    public static func plugin(_ name: String) -> String {
        directory + "/libKilnPlugin\(name).so"
    }

    /// The scratch directory of this build (`.build-x`), when the products directory sits in
    /// the usual `<scratch>/<triple>/<configuration>` layout.
    public static var scratchDirectory: String? {
        let triple = (directory as NSString).deletingLastPathComponent
        guard (triple as NSString).lastPathComponent.contains("-linux") else { return nil }
        return (triple as NSString).deletingLastPathComponent
    }

    /// The root of the kiln checkout (the directory holding `Package.swift`), from this file's
    /// compile-time location.
    public static var packageRoot: String {
        let here = #filePath as NSString  // <root>/Tests/TestSupport/BuildProducts.swift
        return ((here.deletingLastPathComponent as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
    }
}
