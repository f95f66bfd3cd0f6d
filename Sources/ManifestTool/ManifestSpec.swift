// What to merge: manifest-tool's two inputs (estesp/manifest-tool v2, `push from-args` and
// `push from-spec`), turned into one value before any registry is contacted.
import FoundationEssentials
import PluginAPI
import PluginSupport

/// The image index to create: its reference, extra tags, and the sources that become entries.
public struct ManifestSpec: Sendable, Equatable {
    /// One source image (or index) and, when given, the platform its entry must have.
    public struct Source: Sendable, Equatable {
        public var image: ImageReference
        /// The platform stated on the command line or in the spec; nil = read it from the source.
        public var platform: Platform?

        public init(image: ImageReference, platform: Platform? = nil) {
            self.image = image
            self.platform = platform
        }
    }

    /// Where the index is pushed (its tag; the digest is ignored).
    public var target: ImageReference
    /// Further tags for the same index, pushed after `target`.
    public var tags: [String]
    /// Index-level annotations (OCI index only).
    public var annotations: [String: String]
    public var sources: [Source]

    public init(target: ImageReference, tags: [String] = [], annotations: [String: String] = [:], sources: [Source]) {
        self.target = target
        self.tags = tags
        self.annotations = annotations
        self.sources = sources
    }

    /// `push from-args`: one source per platform, named by `template` with its placeholders
    /// replaced as manifest-tool does (the first `ARCH`, then the first `OS`, then the first
    /// `VARIANT`; a platform without a variant turns `VARIANT` into nothing).
    /// - Throws: `ManifestToolError.usage` for a bad platform, reference or tag.
    public static func fromArguments(platforms: String, template: String, target: String, tags: String? = nil) throws -> ManifestSpec {
        let list = platforms.split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty }
        guard !list.isEmpty else { throw ManifestToolError.usage("--platforms needs at least one os/arch[/variant]") }
        var sources: [Source] = []
        for text in list {
            let platform: Platform
            do { platform = try Platform(parsing: text) } catch { throw ManifestToolError.usage("--platforms: \(error)") }
            let name = expand(template, for: platform)
            sources.append(Source(image: try reference(name, what: "--template (for \(platform))"), platform: platform))
        }
        let extra = (tags ?? "").split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty }
        return try ManifestSpec(target: reference(target, what: "--target"), tags: checked(tags: extra), sources: sources)
    }

    /// The source name for `platform`: placeholders are case-sensitive and replaced once each.
    public static func expand(_ template: String, for platform: Platform) -> String {
        var text = template
        for (placeholder, value) in [("ARCH", platform.architecture), ("OS", platform.os), ("VARIANT", platform.variant ?? "")] {
            if let range = text.firstRange(of: placeholder) { text.replaceSubrange(range, with: value) }
        }
        return text
    }

    /// `push from-spec`: manifest-tool's YAML (`image`, `tags`, `annotations`, `manifests` with
    /// `image` and an optional `platform` of `architecture`, `os`, `variant`, `osversion`,
    /// `osfeatures`).
    /// The YAML is read by `yaml` (`YAMLLibrary.standard()` when nil).
    /// - Throws: `ManifestToolError.usage` naming what is wrong in the file.
    public static func fromYAML(_ text: String, fileName: String = "spec", yaml: YAMLLibrary? = nil) throws -> ManifestSpec {
        let file: SpecFile
        do {
            let json = try (yaml ?? YAMLLibrary.standard()).json(fromYAML: text)
            file = try JSONDecoder().decode(SpecFile.self, from: Data(json))
        } catch let error as DecodingError {
            throw ManifestToolError.usage("\(fileName): \(describe(error))")
        } catch {
            throw ManifestToolError.usage("\(fileName): \(error)")
        }
        guard let image = file.image, !image.isEmpty else { throw ManifestToolError.usage("\(fileName): `image` (the target) is missing") }
        guard let manifests = file.manifests, !manifests.isEmpty else {
            throw ManifestToolError.usage("\(fileName): `manifests` lists no source image")
        }
        var sources: [Source] = []
        for (i, m) in manifests.enumerated() {
            guard let name = m.image, !name.isEmpty else { throw ManifestToolError.usage("\(fileName): manifests[\(i)] has no `image`") }
            var platform: Platform?
            if let p = m.platform {
                guard let os = p.os, let arch = p.architecture, !os.isEmpty, !arch.isEmpty else {
                    throw ManifestToolError.usage("\(fileName): manifests[\(i)].platform needs both `os` and `architecture`")
                }
                let text = [os, arch, p.variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
                do { platform = try Platform(parsing: text) } catch {
                    throw ManifestToolError.usage("\(fileName): manifests[\(i)].platform: \(error)")
                }
                platform?.osVersion = p.osversion
                platform?.osFeatures = p.osfeatures
            }
            sources.append(Source(image: try reference(name, what: "\(fileName): manifests[\(i)].image"), platform: platform))
        }
        return try ManifestSpec(
            target: reference(image, what: "\(fileName): image"), tags: checked(tags: file.tags ?? []),
            annotations: file.annotations ?? [:], sources: sources)
    }

    static func reference(_ text: String, what: String) throws -> ImageReference {
        do { return try ImageReference(parsing: text) } catch { throw ManifestToolError.usage("\(what): \(error)") }
    }

    static func checked(tags: [String]) throws -> [String] {
        for tag in tags where !isValidTag(tag) {
            throw ManifestToolError.usage("'\(tag)' is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)")
        }
        return tags
    }

    /// distribution-spec's tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    static func isValidTag(_ tag: String) -> Bool {
        let scalars = Array(tag.unicodeScalars)
        guard (1...128).contains(scalars.count) else { return false }
        func word(_ s: Unicode.Scalar) -> Bool { s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_") }
        return word(scalars[0]) && scalars.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmed(".")
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            let at = path(c)
            return (at.isEmpty ? "" : "\(at): ") + c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

/// manifest-tool's YAML, field for field (yaml.v3 lower-cases its Go field names).
private struct SpecFile: Decodable {
    struct Entry: Decodable {
        var image: String?
        var platform: PlatformEntry?
    }
    struct PlatformEntry: Decodable {
        var architecture: String?
        var os: String?
        var variant: String?
        var osversion: String?
        var osfeatures: [String]?
    }
    var image: String?
    var tags: [String]?
    var annotations: [String: String]?
    var manifests: [Entry]?
}
