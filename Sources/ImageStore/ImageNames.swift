import PluginAPI

// Pure helpers for the host's `--image-name-with-digest-file` and
// `--image-name-tag-with-digest-file` (kaniko's names and meanings).

/// `registry/repository@sha256:…`: the pushed image by digest, tag (and any digest in
/// `reference`) dropped. Docker Hub references keep the `docker.io/` registry.
public func imageNameWithDigest(_ reference: ImageReference, _ digest: Digest) -> String {
    "\(reference.name)@\(digest)"
}

/// `registry/repository:tag@sha256:…`: the tag that was pushed (`latest` when the reference
/// names none) pinned to `digest`.
public func imageNameTagWithDigest(_ reference: ImageReference, _ digest: Digest) -> String {
    "\(reference.name):\(reference.tag ?? ImageReference.defaultTag)@\(digest)"
}
