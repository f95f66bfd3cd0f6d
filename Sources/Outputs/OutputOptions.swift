import PluginAPI

/// Where a built image goes: registries, an OCI layout, a docker-archive tarball, digest files
/// (kaniko's `--destination`, `--oci-layout-path`, `--tar-path`, `--digest-file`…).
public struct OutputOptions: Sendable {
    /// `-d/--destination`: image references to push to (and to tag the tarball with).
    public var destinations: [ImageReference] = []
    /// Push to `destinations` (false with `--no-push`).
    public var push = true
    /// The OCI image layout to write, if any (the Host defaults it to `./kiln-out`).
    public var ociLayoutPath: String?
    /// `--tar-path`: a docker-archive tarball.
    public var tarPath: String?
    /// `--digest-file`, `--image-name-with-digest-file`, `--image-name-tag-with-digest-file`.
    public var digestFile: String?
    public var imageNameWithDigestFile: String?
    public var imageNameTagWithDigestFile: String?
    /// `--push-ignore-immutable-tag-errors`.
    public var pushIgnoreImmutableTagErrors = false
    /// `--skip-push-permission-check`.
    public var skipPushPermissionCheck = false

    public init() {}

    /// True when the image goes to at least one registry.
    public var pushes: Bool { push && !destinations.isEmpty }
}
