// `kiln plugins`-level behaviour through the PluginHost library: the four in-tree plugins are
// found next to the test runner (the build folder), load, cast and report their components.
import PluginAPI
import PluginHost
import TestSupport
import Testing

@Suite("In-tree plugins")
struct InTreePluginTests {
    /// Module name → (component kind, component name) each in-tree plugin must provide.
    static let expected: [(module: String, kind: PluginKind, component: String?)] = [
        ("SnapshotTime", .snapshot, "time"),
        ("SnapshotFull", .snapshot, "full"),
        ("RegistryOCI", .registry, nil),
        ("CrossQEMU", .crossBuild, "qemu"),
    ]

    @Test func allFourAreDiscoveredLoadedAndCast() throws {
        let loader = PluginLoader(discovery: StandardPluginDiscovery(environment: [:]))
        let (plugins, failures) = loader.loadAll()
        let inTree = failures.filter { $0.description.contains(BuildProducts.directory + "/libKilnPlugin") }
        #expect(inTree.isEmpty, "in-tree plugins failed to load: \(inTree.map(\.description))")
        for (module, kind, component) in Self.expected {
            let plugin = try #require(plugins.first { $0.name == module }, "\(module) not loaded from \(BuildProducts.directory)")
            #expect(plugin.path == BuildProducts.plugin(module))
            #expect(plugin.apiVersion == kilnPluginAPIVersion, "read from the plugin's own kiln_plugin_api_version")
            #expect(!plugin.module.summary.isEmpty)
            #expect(plugin.components.contains { $0.kind == kind }, "\(module) offers no \(kind) component")
            if let component { #expect(plugin.components.map(\.name).contains(component)) }
        }
        let set = PluginSet(plugins: plugins, failures: failures)
        #expect(set.snapshotStrategy(named: "time") != nil)
        #expect(set.snapshotStrategy(named: "full") != nil)
        #expect(set.crossBuildBackend() != nil)
        #expect(set.registryClient(named: "RegistryOCI") != nil)
    }

    /// Discovery only offers `libKilnPlugin*.so`: `libPluginAPI.so` beside them is never opened.
    @Test func buildFolderCandidatesAreOnlyPluginLibraries() {
        let candidates = StandardPluginDiscovery(environment: [:]).candidates()
        let names = Set(candidates.map { String($0.split(separator: "/").last ?? "") })
        #expect(names.isSuperset(of: Set(Self.expected.map { "libKilnPlugin\($0.module).so" })))
        #expect(names.allSatisfy { $0.hasPrefix("libKilnPlugin") && $0.hasSuffix(".so") })
    }
}
