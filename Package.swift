// swift-tools-version: 6.0
// kiln: a daemonless container image builder. The layout follows the pipeline
// Dockerfile → plan → execution → layers → image → outputs (see README.md § Architecture).
import PackageDescription

let api: Target.Dependency = .product(name: "PluginAPI", package: "PluginAPI")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "kiln",
    products: [
        .executable(name: "kiln", targets: ["Host"]),
        // Each plugin is its own shared library, dlopen'd by the host; the host never links one.
        .library(name: "KilnPluginSnapshotTime", type: .dynamic, targets: ["SnapshotTime"]),
        .library(name: "KilnPluginSnapshotFull", type: .dynamic, targets: ["SnapshotFull"]),
        .library(name: "KilnPluginRegistryOCI", type: .dynamic, targets: ["RegistryOCI"]),
        .library(name: "KilnPluginCrossQEMU", type: .dynamic, targets: ["CrossQEMU"]),
    ],
    dependencies: [
        .package(path: "Sources/PluginAPI"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (C shims for variadics and macros Swift cannot import).
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CKilnSys"),

        // Pure: Dockerfile text → instructions → stages. Imports nothing that does I/O.
        .target(name: "Dockerfile"),
        // I/O: tar layers (write, read, safe extraction) over libarchive.
        .target(name: "Archive", dependencies: [api, "CArchive", "CKilnSys"], linkerSettings: [.linkedLibrary("z")]),
        // I/O: OCI image layout, docker-archive tarballs, blob store, validate().
        .target(name: "ImageStore", dependencies: [api, "CArchive"]),
        // I/O: RUN execution (namespaces, chroot, seccomp).
        // C: the child side of a RUN (clone, mounts, pivot_root, seccomp, exec); no Swift after fork.
        .target(name: "CRunner"),
        .target(name: "Runner", dependencies: [api, "CSeccomp", "CKilnSys", "CRunner"]),
        // I/O: plugin discovery and loading (dlopen).
        .target(name: "PluginHost", dependencies: [api]),
        // The engine: plans stages and executes instructions into an image.
        .target(name: "Builder", dependencies: [api, "Dockerfile", "Archive", "ImageStore", "Runner", "PluginHost", "CCurl", "CKilnSys"]),
        // The `kiln` executable: commands, flags, error → message and exit code.
        .executableTarget(name: "Host", dependencies: [api, "Builder", "PluginHost", "Dockerfile", "ImageStore", argumentParser]),

        // Plugins: each depends on PluginAPI (and C system libraries) only.
        .target(name: "SnapshotTime", dependencies: [api], path: "Plugins/SnapshotTime"),
        .target(name: "SnapshotFull", dependencies: [api], path: "Plugins/SnapshotFull"),
        .target(name: "RegistryOCI", dependencies: [api, "CCurl"], path: "Plugins/RegistryOCI"),
        .target(name: "CrossQEMU", dependencies: [api], path: "Plugins/CrossQEMU"),

        // Tests.
        .target(name: "TestSupport", dependencies: [api], path: "Tests/TestSupport"),
        .testTarget(name: "PluginAPITests", dependencies: [api, "TestSupport"]),
        .testTarget(name: "DockerfileTests", dependencies: ["Dockerfile", "TestSupport"], resources: [.copy("testfiles"), .copy("testfiles-negative")]),
        // Seeded mutation fuzzing of the front end; corpora in Tests/Fuzz/<target>/.
        .testTarget(name: "FuzzTests", dependencies: ["Dockerfile"]),
        .testTarget(name: "SnapshotTests", dependencies: [api, "PluginHost", "TestSupport"]),
        .testTarget(name: "ArchiveTests", dependencies: [api, "Archive", "TestSupport"]),
        .testTarget(name: "PluginHostTests", dependencies: [api, "PluginHost", "TestSupport"]),
        .testTarget(name: "BuildTests", dependencies: [api, "Builder", "ImageStore", "Dockerfile", "PluginHost", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "RegistryTests", dependencies: [api, "Builder", "PluginHost", "ImageStore", "TestSupport", "RegistryOCI"]),
        .testTarget(name: "RunTests", dependencies: [api, "Runner", "Builder", "TestSupport"]),
        .testTarget(name: "ImageStoreTests", dependencies: [api, "ImageStore", "CArchive", "TestSupport"]),
    ]
)
