// Which module may import which (STYLE.md § The shape of the house), checked on the sources as
// go-containerregistry's pkg/registry/depcheck_test.go does: a pure module never imports an I/O
// one, a plugin links the contract (PluginAPI) and its support library (PluginSupport) and
// nothing of the host, and the contract imports nothing at all. A new module must be added to
// the table, so the layering cannot drift unnoticed.
import Foundation
import TestSupport
import Testing

@Suite("Dependency allow-list")
struct DependencyAllowListTests {
    /// Module folder → the modules its Swift files may import (the standard library is implicit;
    /// `Glibc` stands for `Musl` too).
    static let allowed: [String: Set<String>] = [
        // The plugin contract: values and protocols only.
        "Sources/PluginAPI": [],
        // Helpers plugins share with the host (tree walk, hashing, threads, blocking work).
        "Sources/PluginSupport": ["PluginAPI", "CKilnCrypto", "CKilnFiles", "FoundationEssentials", "Glibc", "Dispatch"],
        // Pure modules.
        "Sources/Dockerfile": [],
        "Sources/Diagnostics": [],
        "Sources/ImageModel": ["PluginAPI", "FoundationEssentials", "Glibc"],
        "Sources/CITag": ["FoundationEssentials"],
        // I/O modules of the engine. SystemCalls is the one system-call seam and in-root resolver.
        "Sources/SystemCalls": ["PluginAPI", "Diagnostics", "CKilnSys", "Glibc"],
        "Sources/Archive": [
            "PluginAPI", "PluginSupport", "SystemCalls", "CArchive", "CDeflate", "CISAL", "CKilnSys", "Glibc", "Dispatch",
            "Synchronization",
        ],
        "Sources/ImageStore": [
            "PluginAPI", "PluginSupport", "ImageModel", "Archive", "SystemCalls", "CArchive", "Glibc", "FoundationEssentials",
        ],
        "Sources/Runner": [
            "PluginSupport", "SystemCalls", "CKilnSys", "CRunner", "CSeccomp", "Interruption", "FoundationEssentials", "Glibc",
            "Synchronization",
        ],
        // What SIGINT/SIGTERM must undo, and the thread that undoes it.
        "Sources/Interruption": ["PluginSupport", "FoundationEssentials", "Glibc", "Synchronization"],
        "Sources/PluginHost": ["PluginAPI", "FoundationEssentials", "Glibc"],
        // HTTP over libcurl: the registry plugin's transport and ADD <url>'s.
        "Sources/HTTPTransport": [
            "PluginAPI", "PluginSupport", "CCurl", "FoundationEssentials", "Glibc", "Synchronization", "Dispatch",
        ],
        "Sources/Outputs": ["PluginAPI", "PluginSupport", "ImageModel", "ImageStore", "Diagnostics", "FoundationEssentials", "Glibc"],
        // The layer cache: keys, entries in a registry (through the contract) or an OCI layout.
        "Sources/LayerCache": ["PluginAPI", "PluginSupport", "ImageModel", "ImageStore", "FoundationEssentials", "Glibc"],
        // The engine: never the plugin loader (it is handed resolved components).
        "Sources/Builder": [
            "PluginAPI", "PluginSupport", "ImageModel", "Diagnostics", "Dockerfile", "Archive", "ImageStore", "Runner", "Outputs",
            "SystemCalls", "HTTPTransport", "CKilnSys", "Interruption", "LayerCache", "FoundationEssentials", "Glibc",
            "Synchronization",
        ],
        // Merging per-architecture images into an index, through the registry contract only; YAML
        // through the library YAMLConverter builds, found as the plugins are.
        "Sources/ManifestTool": ["PluginAPI", "PluginSupport", "PluginHost", "ImageModel", "FoundationEssentials", "Glibc"],
        // The one module that links Foundation (Yams needs it): a library of its own, opened only
        // when a YAML file is read. Everything else links FoundationEssentials, so no kiln process
        // carries Foundation's libraries (about 7 MB resident) unless it reads YAML.
        "Sources/YAMLConverter": ["Foundation", "PluginSupport", "Yams"],
        // The executable.
        "Sources/Host": [
            "PluginAPI", "PluginSupport", "Builder", "Diagnostics", "Outputs", "PluginHost", "Dockerfile", "ImageStore",
            "ManifestTool", "CITag", "SystemCalls", "Runner", "Interruption", "LayerCache", "ArgumentParser",
            "FoundationEssentials", "Glibc",
        ],
        // Plugins: the contract, its support library, C libraries and the system.
        "Plugins/SnapshotTime": ["PluginAPI", "PluginSupport", "Glibc", "Dispatch", "Synchronization"],
        "Plugins/SnapshotFull": ["PluginAPI", "PluginSupport", "Glibc", "Dispatch", "Synchronization"],
        "Plugins/RegistryOCI": [
            "PluginAPI", "PluginSupport", "HTTPTransport", "CCurl", "FoundationEssentials", "Glibc", "Dispatch", "Synchronization",
        ],
        // Its entry points (Plugin/) and backend (Backend/, a target of its own for the tests).
        "Plugins/CrossQEMU": ["PluginAPI", "PluginSupport", "CrossQEMUBackend", "FoundationEssentials", "Glibc", "Synchronization"],
    ]

    /// Folders holding only a C module map (no Swift to check).
    static let cModules: Set<String> = ["CArchive", "CCurl", "CDeflate", "CISAL", "CKilnSys", "CRunner", "CSeccomp"]

    static let root = BuildProducts.packageRoot

    /// Every module folder under Sources/ and Plugins/ that holds Swift code.
    static func moduleFolders() -> [String] {
        var out: [String] = []
        for parent in ["Sources", "Plugins"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + parent)) ?? []
            out += names.filter { !cModules.contains($0) }.map { parent + "/" + $0 }
        }
        return out.sorted()
    }

    /// The modules each Swift file under `folder` imports (package manifests excluded).
    static func imports(in folder: String) -> [(file: String, module: String)] {
        var out: [(String, String)] = []
        let enumerator = FileManager.default.enumerator(atPath: root + "/" + folder)
        while let file = enumerator?.nextObject() as? String {
            guard file.hasSuffix(".swift"), !file.hasSuffix("Package.swift"),
                let text = try? String(contentsOfFile: root + "/" + folder + "/" + file, encoding: .utf8)
            else { continue }
            for module in importedModules(text) { out.append((file, module)) }
        }
        return out
    }

    /// `import X`, `@testable import X`, `internal import X.Y`… → X.
    static func importedModules(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
            guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                words[..<i].allSatisfy({ ["public", "internal", "private", "fileprivate", "package"].contains($0) })
            else { return nil }
            let module = String(words[i + 1].split(separator: ".").first ?? "")
            return module == "Musl" ? "Glibc" : module  // the same C library module, on musl builds
        }
    }

    @Test func everyModuleIsInTheTable() {
        let folders = Self.moduleFolders()
        #expect(folders.count >= 12, "found only \(folders) under \(Self.root)")
        for folder in folders where Self.allowed[folder] == nil {
            Issue.record("\(folder) is not in the allow-list: add it with the modules it may import")
        }
    }

    @Test(arguments: allowed.keys.sorted())
    func importsStayWithinTheAllowList(folder: String) throws {
        let found = Self.imports(in: folder)
        let files = FileManager.default.enumerator(atPath: Self.root + "/" + folder)?.allObjects as? [String] ?? []
        #expect(files.contains { $0.hasSuffix(".swift") }, "no Swift files under \(folder)")
        let allowed = try #require(Self.allowed[folder])
        for (file, module) in found where !allowed.contains(module) {
            Issue.record("\(folder)/\(file) imports \(module), which the allow-list does not give \(folder)")
        }
    }

    /// The checker itself: the forms Swift allows are all read.
    @Test func importLinesOfEveryFormAreRead() {
        let text = "import A\n@testable import B\ninternal import C.D\n@preconcurrency public import E\n// import F\nlet imported = 1"
        #expect(Self.importedModules(text) == ["A", "B", "C", "E"])
    }
}
