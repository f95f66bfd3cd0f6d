// swift-tools-version: 6.0
// PluginAPI is a nested package on purpose: only a `.dynamic` product of *another* package is
// linked as a shared library, so the host and every plugin share one copy of these types and the
// host's `as? KilnPluginModule` cast works (research/swift-feasibility.md §1).
//
// It holds only the contract: the plugin protocols, the values they exchange and the model types
// those need. Helpers a plugin may use (tree walk, hashing) live in the PluginSupport package.
import PackageDescription

let package = Package(
    name: "PluginAPI",
    products: [
        .library(name: "PluginAPI", type: .dynamic, targets: ["PluginAPI"])
    ],
    targets: [
        .target(name: "PluginAPI", path: ".", exclude: ["Package.swift", "README.md"])
    ]
)
