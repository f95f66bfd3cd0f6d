// COPY/ADD source globs, matched one path component at a time with the same compiled
// `filepath.Match` matcher `.dockerignore` uses.

/// A Go `filepath.Match` pattern for one path component (`*.txt`, `file-[0-9]?`).
public struct PathPattern: Sendable, Hashable {
    let pattern: IgnorePattern

    /// Compiles `text`. Throws `DockerIgnore.Error.badPattern` for a malformed class or a
    /// trailing backslash, as Go does.
    public init(_ text: String) throws {
        pattern = try IgnorePattern(text: text, isException: false)
    }

    /// True when `name` (one component, no `/`) matches.
    public func matches(_ name: String) -> Bool { pattern.matches(name) }

    /// True when `text` holds a wildcard or escape, so it must be matched rather than compared.
    public static func hasWildcards(_ text: String) -> Bool { text.contains { "*?[\\".contains($0) } }
}
