// The search order: --plugin-dir, then KILN_PLUGIN_PATH, then next to the executable (its
// plugins/ folder, the install layout's lib/kiln/plugins, the folder itself); first name wins.
import Foundation
import PluginAPI
import PluginHost
import TestSupport
import Testing

@Suite("Plugin discovery order")
struct DiscoveryOrderTests {
    @Test func searchesPluginDirThenEnvironmentThenExecutableFolders() throws {
        let tree = try TemporaryTree(prefix: "kiln-discovery")
        defer { tree.remove() }
        for d in ["cli", "env1", "env2", "exe", "exe/plugins", "lib", "lib/kiln", "lib/kiln/plugins"] { try tree.makeDirectory(d) }
        // Names sorted against the directory order, so a sort by name would fail the test.
        for (dir, name) in [("cli", "Z"), ("env1", "Y"), ("env2", "X"), ("exe/plugins", "W"), ("lib/kiln/plugins", "V"), ("exe", "U")] {
            try tree.write("\(dir)/libKilnPlugin\(name).so", "")
        }
        for ignored in ["cli/libPluginAPI.so", "cli/libKilnPluginOld.so.bak", "cli/notes.txt", "exe/libKilnPluginNot.dylib"] {
            try tree.write(ignored, "")
        }
        let discovery = StandardPluginDiscovery(
            pluginDirectories: [tree.url("cli"), tree.url("missing")],
            environment: ["KILN_PLUGIN_PATH": "\(tree.url("env1"))::\(tree.url("env2"))"],
            executableDirectory: tree.url("exe"))
        let found = discovery.candidates().map { String($0.dropFirst(tree.path.count + 1)) }
        #expect(
            found == [
                "cli/libKilnPluginZ.so", "env1/libKilnPluginY.so", "env2/libKilnPluginX.so",
                "exe/plugins/libKilnPluginW.so", "exe/../lib/kiln/plugins/libKilnPluginV.so", "exe/libKilnPluginU.so",
            ])
    }

    @Test func aLibraryReachableTwiceIsOfferedOnce() throws {
        let tree = try TemporaryTree(prefix: "kiln-discovery-dup")
        defer { tree.remove() }
        try tree.makeDirectory("a")
        try tree.makeDirectory("b")
        try tree.write("a/libKilnPluginSame.so", "")
        try tree.symlink("b/libKilnPluginSame.so", to: tree.url("a/libKilnPluginSame.so"))
        let discovery = StandardPluginDiscovery(
            pluginDirectories: [tree.url("b"), tree.url("a")], environment: [:], executableDirectory: nil)
        #expect(discovery.candidates() == [tree.url("b/libKilnPluginSame.so")])
    }

    /// A library reachable both directly and through a relative symlink is offered once
    /// (discovery de-duplicates with realpath(3)).
    @Test func aLibraryReachableThroughARelativeSymlinkIsOfferedOnce() throws {
        let tree = try TemporaryTree(prefix: "kiln-discovery-rel")
        defer { tree.remove() }
        try tree.makeDirectory("a")
        try tree.makeDirectory("b")
        try tree.write("a/libKilnPluginSame.so", "")
        try tree.symlink("b/libKilnPluginSame.so", to: "../a/libKilnPluginSame.so")
        let discovery = StandardPluginDiscovery(
            pluginDirectories: [tree.url("b"), tree.url("a")], environment: [:], executableDirectory: nil)
        #expect(discovery.candidates() == [tree.url("b/libKilnPluginSame.so")])
    }

    /// A plugin dropped into --plugin-dir overrides the build's plugin of the same name.
    @Test func firstPluginWithANameWins() throws {
        let tree = try TemporaryTree(prefix: "kiln-discovery-wins")
        defer { tree.remove() }
        let override = tree.url("libKilnPluginCrossQEMU.so")
        try FileManager.default.copyItem(atPath: BuildProducts.plugin("CrossQEMU"), toPath: override)
        let loader = PluginLoader(discovery: StandardPluginDiscovery(pluginDirectories: [tree.path], environment: [:]))
        let (plugins, failures) = loader.loadAll()
        #expect(plugins.filter { $0.name == "CrossQEMU" }.map(\.path) == [override])
        #expect(!failures.contains { $0.description.contains(override) })
        #expect(Set(plugins.map(\.name)).count == plugins.count, "names are unique after loading")
    }
}
