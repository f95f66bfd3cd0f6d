import PluginAPI
import PluginHost
import TestSupport
import Testing

@Suite("Snapshot plugins load through PluginHost")
struct StrategyLoadingTests {
    @Test(arguments: [("time", "SnapshotTime"), ("full", "SnapshotFull")])
    func strategyComesFromItsPluginLibrary(component: String, module: String) throws {
        let strategy = try SnapshotPlugins.strategy(component)
        #expect(strategy.name == component)
        #expect(strategy.kind == .snapshot)
        let plugin = try #require(SnapshotPlugins.loaded.plugins.first { $0.name == module })
        #expect(plugin.path.hasSuffix("/libKilnPlugin\(module).so"))
        #expect(!plugin.module.summary.isEmpty && !plugin.module.summary.contains("\n"))
        #expect(plugin.components.map(\.name) == [component])
    }
}
