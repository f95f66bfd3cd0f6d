// swift-tools-version: 6.0
// Plugins kiln must refuse, each with a message naming the library's path:
// - KilnPluginOldAPI reports plugin API version 999.0.0;
// - KilnPluginNoEntry exports no `kiln_plugin_entry` symbol;
// - KilnPluginNoVersion exports no `kiln_plugin_api_version` symbol (as plugins before API 3).
import PackageDescription

let package = Package(
    name: "OldAPIPlugin",
    products: [
        .library(name: "KilnPluginOldAPI", type: .dynamic, targets: ["OldAPIPlugin"]),
        .library(name: "KilnPluginNoEntry", type: .dynamic, targets: ["NoEntryPlugin"]),
        .library(name: "KilnPluginNoVersion", type: .dynamic, targets: ["NoVersionPlugin"]),
    ],
    dependencies: [.package(path: "../../../Sources/PluginAPI")],
    targets: [
        .target(name: "OldAPIPlugin", dependencies: [.product(name: "PluginAPI", package: "PluginAPI")]),
        .target(name: "NoEntryPlugin", dependencies: [.product(name: "PluginAPI", package: "PluginAPI")]),
        .target(name: "NoVersionPlugin", dependencies: [.product(name: "PluginAPI", package: "PluginAPI")]),
    ]
)
