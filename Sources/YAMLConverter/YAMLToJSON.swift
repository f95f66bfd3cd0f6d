// YAML → JSON for the files kiln reads as YAML (manifest-tool's spec), in a library of its own:
// Yams needs Foundation, whose libraries cost every kiln process about 7 MB of resident memory.
// kiln and its plugins link FoundationEssentials only and `dlopen` this library (with Yams and
// Foundation) the first time a YAML file is read.
import Foundation
import PluginSupport
import Yams

/// Converts the YAML document `text` to JSON. On success returns 0 and sets `output` to the JSON
/// text; on failure returns 1 and sets `output` to the error. The caller frees `output`.
///
/// Mappings become objects (keys as their text), sequences arrays, null scalars `null`, and
/// every other scalar a string, its text as written: the readers decode strings (`tags: [1]`
/// is the tag "1", as YAMLDecoder reads it).
@_cdecl("kiln_yaml_to_json")
public func kilnYAMLToJSON(_ text: UnsafePointer<CChar>, _ output: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    do {
        output.pointee = strdup(try value(of: Yams.compose(yaml: String(cString: text))).serialized)
        return 0
    } catch {
        output.pointee = strdup("\(error)")
        return 1
    }
}

private struct Unsupported: Error, CustomStringConvertible {
    var description: String
}

private func value(of node: Node?) throws -> JSONValue {
    guard let node else { return .null }
    switch node {
    case .scalar(let scalar):
        return scalar.style == .plain && node.null != nil ? .null : .string(scalar.string)
    case .sequence(let sequence):
        return .array(try sequence.map(value(of:)))
    case .mapping(let mapping):
        var members: [String: JSONValue] = [:]
        for pair in mapping {
            guard case .scalar(let key) = pair.key else {
                throw Unsupported(description: "a mapping key that is not a scalar (line \(pair.key.mark?.line ?? 0))")
            }
            members[key.string] = try value(of: pair.value)
        }
        return .object(members)
    }
}
