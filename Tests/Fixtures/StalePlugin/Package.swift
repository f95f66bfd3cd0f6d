// swift-tools-version: 6.0
// A plugin built against *another* copy of the plugin contract. It is never built in place:
// Tests/PluginHostTests/StalePluginTests.swift copies this folder and Sources/PluginAPI side by
// side into a temporary directory, rewrites the copy's `kilnPluginAPIVersion`, builds there and
// checks that kiln refuses the result, in debug and in release.
import PackageDescription

let package = Package(
    name: "StalePlugin",
    products: [
        .library(name: "KilnPluginStale", type: .dynamic, targets: ["StalePlugin"])
    ],
    dependencies: [.package(path: "../PluginAPI")],
    targets: [
        .target(name: "StalePlugin", dependencies: [.product(name: "PluginAPI", package: "PluginAPI")])
    ]
)
