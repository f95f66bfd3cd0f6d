import ArgumentParser

/// Where the image goes.
struct OutputFlags: ParsableArguments {
    @Option(
        name: [.customShort("d"), .customLong("destination")],
        help: ArgumentHelp("Image reference to push to; repeatable.", valueName: "ref"))
    var destinations: [String] = []

    @Flag(name: .customLong("no-push"), help: "Build only; do not push.")
    var noPush = false

    @Option(
        name: .customLong("oci-layout-path"),
        help: "Write the image to this OCI image layout directory (the default output when nothing else is asked).")
    var ociLayoutPath: String?

    @Option(name: .customLong("tar-path"), help: "Write a docker-archive tarball (for docker/podman load).")
    var tarPath: String?

    @Option(name: .customLong("digest-file"), help: "Write the image digest to this file.")
    var digestFile: String?

    @Option(name: .customLong("image-name-with-digest-file"), help: "Write repo@digest for each destination to this file.")
    var imageNameWithDigestFile: String?

    @Option(name: .customLong("image-name-tag-with-digest-file"), help: "Write repo:tag@digest for each destination to this file.")
    var imageNameTagWithDigestFile: String?

    @Flag(
        name: .customLong("push-ignore-immutable-tag-errors"), inversion: .prefixedNo,
        help: "Treat 'tag is immutable' push errors as success.")
    var pushIgnoreImmutableTagErrors = false

    @Option(name: .customLong("push-retry"), help: "Extra attempts for failed pushes (exponential back-off).")
    var pushRetry = 0

    @Flag(name: .customLong("skip-push-permission-check"), inversion: .prefixedNo, help: "Do not check push permission before building.")
    var skipPushPermissionCheck = false

    // The layer cache (kaniko's flags and defaults).
    @Flag(
        name: .customLong("cache"), inversion: .prefixedNo,
        help: "Use the layer cache: RUN steps (and COPY with --cache-copy-layers) found there are not run.")
    var cache = false
    @Option(
        name: .customLong("cache-repo"),
        help: "Layer cache repository (host/name), or oci:/path for a local OCI layout; default: <first destination>/cache.")
    var cacheRepo: String?
    @Option(name: .customLong("cache-dir"), help: "Base-image cache directory (filled by 'kiln warm').")
    var cacheDir: String?
    @Option(name: .customLong("cache-ttl"), help: "Maximum age of cached layers and base images, e.g. 336h.")
    var cacheTTL = "336h"
    @Flag(name: .customLong("cache-copy-layers"), inversion: .prefixedNo, help: "Take COPY and ADD layers from the cache too.")
    var cacheCopyLayers = false
    @Flag(name: .customLong("cache-run-layers"), inversion: .prefixedNo, help: "Take RUN layers from the cache.")
    var cacheRunLayers = true
    @Flag(name: .customLong("no-push-cache"), help: "Look layers up in the cache but store none.")
    var noPushCache = false
    @Flag(
        name: .customLong("compressed-caching"), inversion: .prefixedNo,
        help: "Accepted for kaniko compatibility: kiln never holds layers in memory.")
    var compressedCaching = true
}
