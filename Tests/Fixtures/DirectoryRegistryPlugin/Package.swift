// swift-tools-version: 6.0
// A registry plugin built outside kiln: it depends on PluginAPI (the contract) and PluginSupport
// (hashing), as a third party's would.
import PackageDescription

let package = Package(
    name: "DirectoryRegistryPlugin",
    products: [
        // The `KilnPlugin` prefix is what kiln's discovery looks for.
        .library(name: "KilnPluginDirectoryRegistry", type: .dynamic, targets: ["DirectoryRegistry"])
    ],
    dependencies: [.package(path: "../../../Sources/PluginAPI"), .package(path: "../../../Sources/PluginSupport")],
    targets: [
        .target(
            name: "DirectoryRegistry",
            dependencies: [
                .product(name: "PluginAPI", package: "PluginAPI"), .product(name: "PluginSupport", package: "PluginSupport"),
            ],
            path: "Sources"
        )
    ]
)
