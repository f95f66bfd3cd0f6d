// swift-tools-version: 6.0
// kiln: a daemonless container image builder. The layout follows the pipeline
// Dockerfile → plan → execution → layers → image → outputs (see README.md § Architecture).
import PackageDescription

let api: Target.Dependency = .product(name: "PluginAPI", package: "PluginAPI")
let support: Target.Dependency = .product(name: "PluginSupport", package: "PluginSupport")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

let package = Package(
    name: "kiln",
    products: [
        .executable(name: "kiln", targets: ["Host"]),
        // Each plugin is its own shared library, dlopen'd by the host; the host never links one.
        .library(name: "KilnPluginSnapshotTime", type: .dynamic, targets: ["SnapshotTime"]),
        .library(name: "KilnPluginSnapshotFull", type: .dynamic, targets: ["SnapshotFull"]),
        .library(name: "KilnPluginRegistryOCI", type: .dynamic, targets: ["RegistryOCI"]),
        .library(name: "KilnPluginCrossQEMU", type: .dynamic, targets: ["CrossQEMU"]),
        // YAML (Yams, which needs Foundation), opened only when a YAML file is read.
        .library(name: "KilnYAML", type: .dynamic, targets: ["YAMLConverter"]),
    ],
    dependencies: [
        .package(path: "Sources/PluginAPI"),
        .package(path: "Sources/PluginSupport"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries (C shims for variadics and macros Swift cannot import).
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CKilnSys"),

        // Pure: the one error model (code, message, cause, Dockerfile location).
        .target(name: "Diagnostics"),
        // Pure: Dockerfile text → instructions → stages → build plan. Imports nothing that does I/O.
        .target(name: "Dockerfile"),
        // Pure: the host's image model (config, manifest, index, canonical JSON); not plugin contract.
        .target(name: "ImageModel", dependencies: [api]),
        // I/O: the one system-call seam (EINTR, errno text) and in-root path resolver (openat2).
        .target(name: "SystemCalls", dependencies: [api, "Diagnostics", "CKilnSys"]),
        // I/O: HTTP over libcurl (pooled handles, lanes per host, streaming bodies, secret
        // redaction): the registry plugin's transport and the builder's `ADD <url>`.
        .target(name: "HTTPTransport", dependencies: [api, support, "CCurl"]),
        // I/O: tar layers (write, read, safe extraction) over libarchive.
        .target(
            name: "Archive", dependencies: [api, support, "SystemCalls", "CArchive", "CDeflate", "CISAL", "CKilnSys"], linkerSettings: [.linkedLibrary("z")]),
        // I/O: OCI image layout, docker-archive tarballs, blob store, validate().
        .target(name: "ImageStore", dependencies: [api, support, "ImageModel", "Archive", "SystemCalls", "CArchive"]),
        // I/O: RUN execution (namespaces, chroot, seccomp).
        // C: the child side of a RUN (clone, mounts, pivot_root, seccomp, exec); no Swift after fork.
        .target(name: "CRunner"),
        .target(name: "Runner", dependencies: [api, support, "SystemCalls", "CSeccomp", "CKilnSys", "CRunner", "Interruption"]),
        // I/O: what SIGINT/SIGTERM must undo (RUN processes, working directories, binfmt
        // registrations) and the thread that undoes it.
        .target(name: "Interruption", dependencies: [support]),
        // I/O: plugin discovery and loading (dlopen).
        .target(name: "PluginHost", dependencies: [api]),
        // I/O: where a built image goes (OCI layout, docker-archive, registries, digest files).
        .target(name: "Outputs", dependencies: [api, support, "ImageModel", "ImageStore", "Diagnostics"]),
        // I/O: the layer cache (step keys, entries in a registry repository or an OCI layout).
        .target(name: "LayerCache", dependencies: [api, support, "ImageModel", "ImageStore"]),
        // The engine: executes a planned Dockerfile into an image with the components it is given.
        .target(
            name: "Builder",
            dependencies: [
                api, support, "ImageModel", "Diagnostics", "Dockerfile", "Archive", "ImageStore", "Runner", "Outputs", "SystemCalls",
                "HTTPTransport", "CKilnSys", "Interruption", "LayerCache",
            ]),
        // Multi-arch images from per-architecture ones (manifest-tool's job) through a RegistryClient.
        .target(name: "ManifestTool", dependencies: [api, support, "ImageModel", "PluginHost"]),
        .target(name: "YAMLConverter", dependencies: [support, yams]),
        // Pure: the image tag a CI pipeline should push (latest, the git tag, or the commit).
        .target(name: "CITag"),
        // The `kiln` executable: commands, flags, plugin resolution, error → message and exit code.
        .executableTarget(
            name: "Host",
            dependencies: [
                api, support, "Builder", "Diagnostics", "Outputs", "PluginHost", "Dockerfile", "ImageStore", "ManifestTool", "CITag", "SystemCalls",
                "Runner", "Interruption", "LayerCache",
                argumentParser,
            ]),

        // Plugins: each depends on PluginAPI, PluginSupport (and C system libraries) only.
        .target(name: "SnapshotTime", dependencies: [api, support], path: "Plugins/SnapshotTime"),
        .target(name: "SnapshotFull", dependencies: [api, support], path: "Plugins/SnapshotFull"),
        .target(name: "RegistryOCI", dependencies: [api, support, "HTTPTransport", "CCurl"], path: "Plugins/RegistryOCI"),
        // CrossQEMU's entry points apart from its backend, so tests link the backend without a
        // second copy of the exported `kiln_plugin_*` symbols (RegistryTests links RegistryOCI's).
        .target(name: "CrossQEMU", dependencies: [api, "CrossQEMUBackend"], path: "Plugins/CrossQEMU/Plugin"),
        .target(name: "CrossQEMUBackend", dependencies: [api, support], path: "Plugins/CrossQEMU/Backend"),

        // Tests.
        .target(name: "TestSupport", dependencies: [api, support, "ImageModel"], path: "Tests/TestSupport"),
        .testTarget(name: "LayeringTests", dependencies: ["TestSupport"]),
        .testTarget(name: "PluginAPITests", dependencies: [api, support, "ImageModel", "TestSupport"]),
        .testTarget(
            name: "DockerfileTests", dependencies: ["Dockerfile", "TestSupport"],
            resources: [.copy("testfiles"), .copy("testfiles-negative")]),
        // Seeded mutation fuzzing of the front end; corpora in Tests/Fuzz/<target>/.
        .testTarget(name: "FuzzTests", dependencies: ["Dockerfile", "TestSupport"]),
        .testTarget(name: "SnapshotTests", dependencies: [api, support, "PluginHost", "TestSupport"]),
        .testTarget(name: "ArchiveTests", dependencies: [api, support, "Archive", "SystemCalls", "CKilnSys", "TestSupport"]),
        .testTarget(name: "PluginHostTests", dependencies: [api, support, "ImageModel", "PluginHost", "TestSupport"]),
        .testTarget(
            name: "BuildTests",
            dependencies: [
                api, support, "ImageModel", "Builder", "ImageStore", "Dockerfile", "PluginHost", "TestSupport", "CrossQEMUBackend",
                "LayerCache",
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "EngineTests",
            dependencies: [
                api, support, "ImageModel", "Builder", "Diagnostics", "Dockerfile", "ImageStore", "Outputs", "PluginHost", "TestSupport",
                "CArchive",
            ]),
        .testTarget(
            name: "RegistryTests",
            dependencies: [
                api, support, "ImageModel", "Builder", "PluginHost", "ImageStore", "TestSupport", "RegistryOCI", "HTTPTransport",
            ]),
        .testTarget(name: "RunTests", dependencies: [api, "Runner", "Builder", "Interruption", "TestSupport"]),
        .testTarget(name: "ImageStoreTests", dependencies: [api, support, "ImageModel", "ImageStore", "CArchive", "TestSupport"]),
        .testTarget(name: "ManifestToolTests", dependencies: [api, support, "ImageModel", "ManifestTool", "TestSupport", yams]),
        .testTarget(name: "CITagTests", dependencies: ["CITag"]),
        // binfmt_misc registration and cleanup (root); the helper stands in for a host being signalled.
        .testTarget(name: "CrossQEMUTests", dependencies: [api, support, "CrossQEMUBackend", "TestSupport"]),
        .executableTarget(name: "QEMUCleanupHelper", dependencies: [api], path: "Tests/QEMUCleanupHelper"),
    ]
)
