// YAML → JSON for the files kiln reads as YAML (manifest-tool's spec), in a library of its own:
// Yams needs Foundation, whose libraries cost every kiln process about 7 MB of resident memory.
// kiln and its plugins link FoundationEssentials only and `dlopen` this library (with Yams and
// Foundation) the first time a YAML file is read.
import Foundation
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
        let node = try Yams.compose(yaml: String(cString: text))
        var json = ""
        try write(node, into: &json)
        output.pointee = strdup(json)
        return 0
    } catch {
        output.pointee = strdup("\(error)")
        return 1
    }
}

private struct Unsupported: Error, CustomStringConvertible {
    var description: String
}

private func write(_ node: Node?, into out: inout String) throws {
    guard let node else {
        out += "null"
        return
    }
    switch node {
    case .scalar(let scalar):
        if scalar.style == .plain, node.null != nil {
            out += "null"
        } else {
            quote(scalar.string, into: &out)
        }
    case .sequence(let sequence):
        out += "["
        for (i, element) in sequence.enumerated() {
            if i > 0 { out += "," }
            try write(element, into: &out)
        }
        out += "]"
    case .mapping(let mapping):
        out += "{"
        for (i, pair) in mapping.enumerated() {
            guard case .scalar(let key) = pair.key else {
                throw Unsupported(description: "a mapping key that is not a scalar (line \(pair.key.mark?.line ?? 0))")
            }
            if i > 0 { out += "," }
            quote(key.string, into: &out)
            out += ":"
            try write(pair.value, into: &out)
        }
        out += "}"
    }
}

private func quote(_ s: String, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    out += "\""
}
