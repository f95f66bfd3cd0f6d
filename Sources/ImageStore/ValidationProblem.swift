import PluginAPI

/// One disagreement between an image's manifest, config and blobs.
public struct ValidationProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A referenced blob is not in the store.
        case missingBlob
        /// A blob's size differs from its descriptor.
        case sizeMismatch
        /// A blob's digest differs from its descriptor.
        case digestMismatch
        /// A layer's decompressed SHA-256 differs from its `rootfs.diff_ids` entry.
        case diffIDMismatch
        /// `rootfs.diff_ids` and the manifest's layers differ in number.
        case diffIDCount
        /// History entries without `empty_layer` differ in number from the layers.
        case historyCount
        /// A media type is unknown or from the other family (Docker vs OCI).
        case mediaType
        /// A layer's bytes do not match the compression its media type names, or cannot be read.
        case unreadableLayer
        /// A required config field (`os`, `architecture`, `rootfs.type`) is missing or wrong.
        case config
        /// A manifest or config is not valid JSON for its type.
        case malformed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Thrown by `ImageValidator.validate` when an image has problems; lists all of them.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [ValidationProblem]
    /// What was validated (a layout path and ref name, a manifest digest).
    public var subject: String

    public init(problems: [ValidationProblem], subject: String) {
        self.problems = problems
        self.subject = subject
    }

    public var description: String {
        "image \(subject) is invalid (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0.message)" }.joined(separator: "\n")
    }
}
