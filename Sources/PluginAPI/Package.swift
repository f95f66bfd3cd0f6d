// swift-tools-version: 6.0
// PluginAPI is a nested package on purpose: only a `.dynamic` product of *another* package is
// linked as a shared library, so the host and every plugin share one copy of these types and the
// host's `as? KilnPluginModule` cast works (research/swift-feasibility.md §1).
import PackageDescription

let package = Package(
    name: "PluginAPI",
    products: [
        .library(name: "PluginAPI", type: .dynamic, targets: ["PluginAPI"])
    ],
    targets: [
        .systemLibrary(name: "CKilnCrypto", path: "CKilnCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // xattr calls for the tree walker (Files/), which the Glibc module does not export.
        .systemLibrary(name: "CKilnFiles", path: "Files/CKilnFiles"),
        .target(
            name: "PluginAPI",
            dependencies: ["CKilnCrypto", "CKilnFiles"],
            path: ".",
            exclude: ["Package.swift", "CKilnCrypto", "Files/CKilnFiles"]
        ),
    ]
)
