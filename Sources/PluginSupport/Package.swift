// swift-tools-version: 6.0
// Helpers that plugins may share with the host, linked statically into each: the snapshot tree
// walk (lstat, xattrs, the file system's clock), SHA-256, and running blocking work off the
// cooperative pool. Nothing here is part of the plugin contract: no type of this package crosses
// the boundary between the host and a plugin, so each image may carry its own copy.
import PackageDescription

let package = Package(
    name: "PluginSupport",
    products: [
        .library(name: "PluginSupport", targets: ["PluginSupport"])
    ],
    dependencies: [
        .package(path: "../PluginAPI")
    ],
    targets: [
        .systemLibrary(name: "CKilnCrypto", path: "CKilnCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // xattr calls for the tree walker, which the Glibc module does not export.
        .systemLibrary(name: "CKilnFiles", path: "CKilnFiles"),
        .target(
            name: "PluginSupport",
            dependencies: ["CKilnCrypto", "CKilnFiles", .product(name: "PluginAPI", package: "PluginAPI")],
            path: ".",
            exclude: ["Package.swift", "CKilnCrypto", "CKilnFiles"]
        ),
    ]
)
