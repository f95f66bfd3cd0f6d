// The compatibility rule of the plugin contract's semantic version.
import PluginAPI
import Testing

@Suite("Plugin API version")
struct PluginAPIVersionTests {
    static let host = PluginAPIVersion(major: 3, minor: 2, patch: 1)

    @Test(arguments: [
        (PluginAPIVersion(major: 3, minor: 2, patch: 1), true),
        (PluginAPIVersion(major: 3, minor: 2, patch: 9), true),  // patches never change the contract
        (PluginAPIVersion(major: 3, minor: 0, patch: 0), true),  // older minor: only additions since
        (PluginAPIVersion(major: 3, minor: 3, patch: 0), false),  // newer minor: may need what the host lacks
        (PluginAPIVersion(major: 2, minor: 9, patch: 0), false),  // another major
        (PluginAPIVersion(major: 4, minor: 0, patch: 0), false),
    ])
    func aHostAcceptsTheSameMajorUpToItsMinor(plugin: PluginAPIVersion, accepted: Bool) {
        #expect(Self.host.accepts(plugin) == accepted)
    }

    @Test func theExchangedFormRoundTrips() {
        for v in [PluginAPIVersion(major: 3, minor: 0, patch: 0), PluginAPIVersion(major: 12, minor: 345, patch: 678)] {
            #expect(PluginAPIVersion(packed: v.packed) == v)
        }
        #expect(PluginAPIVersion(major: 3, minor: 1, patch: 2).packed == 3_001_002)
        #expect(PluginAPIVersion(major: 3, minor: 1, patch: 2).description == "3.1.2")
    }
}
