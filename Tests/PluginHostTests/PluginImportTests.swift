// Plugins link PluginAPI and nothing of the host (STYLE.md § The shape of the house): a plugin
// importing an engine module would get its own static copy of it, and its types would not be
// the host's. Checked on the sources, like go-containerregistry's depcheck test.
import Foundation
import TestSupport
import Testing

@Suite("Plugin dependencies")
struct PluginImportTests {
    static let root = BuildProducts.packageRoot

    /// The plugin folders under Plugins/.
    static var plugins: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/Plugins")) ?? []).sorted()
    }

    /// Modules of the root package other than PluginAPI: the folders under Sources/.
    static var hostModules: Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: root + "/Sources")) ?? []).filter { $0 != "PluginAPI" })
    }

    /// The string dependencies Package.swift gives a plugin target (its C system libraries).
    static func declaredDependencies(of plugin: String) throws -> Set<String> {
        let manifest = try String(contentsOfFile: root + "/Package.swift", encoding: .utf8)
        guard let line = manifest.split(separator: "\n").first(where: { $0.contains(".target(name: \"\(plugin)\"") }),
            let open = line.range(of: "dependencies: ["), let close = line[open.upperBound...].firstIndex(of: "]")
        else { return [] }
        return Set(
            line[open.upperBound..<close].split(separator: ",").compactMap { item -> String? in
                let t = item.trimmingCharacters(in: .whitespaces)
                return t.hasPrefix("\"") ? String(t.dropFirst().dropLast()) : nil
            })
    }

    /// `import X` lines of every Swift file under `folder` (any attributes or access level).
    static func imports(in folder: String) -> [(file: String, module: String)] {
        var out: [(String, String)] = []
        let enumerator = FileManager.default.enumerator(atPath: folder)  // a handful of files; fine here
        while let file = enumerator?.nextObject() as? String {
            guard file.hasSuffix(".swift"), let text = try? String(contentsOfFile: folder + "/" + file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                    words[..<i].allSatisfy({ ["public", "internal", "private", "fileprivate", "package"].contains($0) })
                else { continue }
                out.append((file, String(words[i + 1].split(separator: ".").first ?? "")))
            }
        }
        return out
    }

    @Test func pluginsImportPluginAPIAndNoHostModule() throws {
        #expect(Self.plugins.count >= 4, "no plugins found under \(Self.root)/Plugins")
        for plugin in Self.plugins {
            let allowed = try Self.declaredDependencies(of: plugin)
            let found = Self.imports(in: Self.root + "/Plugins/" + plugin)
            #expect(found.contains { $0.module == "PluginAPI" }, "\(plugin) does not import PluginAPI")
            for (file, module) in found where Self.hostModules.contains(module) && !allowed.contains(module) {
                Issue.record(
                    "Plugins/\(plugin)/\(file) imports \(module), a module of the host; plugins may use PluginAPI and their declared C libraries only"
                )
            }
        }
    }
}
