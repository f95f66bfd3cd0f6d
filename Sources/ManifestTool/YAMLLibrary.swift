// The YAML reader, loaded on first use: `libKilnYAML.so` (Yams, and with it Foundation) is
// opened only when a YAML file is read, so no other kiln command pays for Foundation's libraries.
import FoundationEssentials
import Glibc
import PluginHost

/// `libKilnYAML.so`'s YAML → JSON conversion.
public struct YAMLLibrary: Sendable {
    public static let fileName = "libKilnYAML.so"
    private typealias Convert = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32
    private let convert: Convert

    /// The library as the plugins are found (`--plugin-dir`, `$KILN_PLUGIN_PATH`, beside the
    /// executable); opened once per process.
    public static func standard() throws(ManifestToolError) -> YAMLLibrary {
        try loaded.get()
    }

    private static let loaded: Result<YAMLLibrary, ManifestToolError> = Result {
        () throws(ManifestToolError) -> YAMLLibrary in
        try load(searching: StandardPluginDiscovery().searchDirectories)
    }

    /// The first `libKilnYAML.so` in `directories`.
    public static func load(searching directories: [String]) throws(ManifestToolError) -> YAMLLibrary {
        var failures: [String] = []
        for directory in directories {
            let path = directory + "/" + fileName
            guard access(path, R_OK) == 0 else { continue }
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
                failures.append(dlerror().map { String(cString: $0) } ?? path)
                continue
            }
            guard let symbol = dlsym(handle, "kiln_yaml_to_json") else {
                failures.append("\(path) has no kiln_yaml_to_json")
                continue
            }
            return YAMLLibrary(convert: unsafeBitCast(symbol, to: Convert.self))
        }
        let searched = directories.joined(separator: ", ")
        throw ManifestToolError.usage(
            "cannot read YAML: \(fileName) \(failures.isEmpty ? "is not in \(searched)" : "did not load: \(failures.joined(separator: "; "))")"
        )
    }

    /// `text` as JSON; throws the YAML parser's message when it is not YAML.
    public func json(fromYAML text: String) throws(YAMLError) -> [UInt8] {
        var output: UnsafeMutablePointer<CChar>?
        let status = text.withCString { convert($0, &output) }
        defer { free(output) }
        let message = output.map { String(cString: $0) } ?? ""
        guard status == 0 else { throw YAMLError(description: message) }
        return Array(message.utf8)
    }

    /// What the YAML parser said about a document it could not read.
    public struct YAMLError: Error, CustomStringConvertible {
        public var description: String
    }
}
