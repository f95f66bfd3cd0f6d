import PluginAPI

/// Why a manifest list could not be made or shown. Registry failures pass through unchanged
/// (they carry the registry's own message, the status and a hint).
public enum ManifestToolError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The command line or spec file is wrong (the host exits 2).
    case usage(String)
    /// A source image does not exist (and `--ignore-missing` was not given).
    case missingSource(ImageReference)
    /// Every source was missing and skipped.
    case allSourcesMissing([ImageReference])
    /// Two entries would have the same platform.
    case duplicatePlatform(Platform, ImageReference, ImageReference)
    /// A source's config contradicts the platform asked for it.
    case platformMismatch(ImageReference, asked: Platform, config: Platform)
    /// A source index has no image for the platform asked for it.
    case platformNotInIndex(ImageReference, asked: Platform, available: [Platform])
    /// A source is something other than an image manifest or an index, or is malformed.
    case unsupportedSource(ImageReference, String)
    /// A Docker manifest list cannot carry index annotations.
    case annotationsNeedOCI

    public var description: String {
        switch self {
        case .usage(let m):
            return m
        case .missingSource(let r):
            return "source image \(r) does not exist (pass --ignore-missing to leave its platform out)"
        case .allSourcesMissing(let refs):
            return "every source image is missing (\(refs.map(\.description).joined(separator: ", "))): nothing to push"
        case .duplicatePlatform(let p, let a, let b):
            return "\(a) and \(b) are both \(p): an index holds one image per platform"
        case .platformMismatch(let r, let asked, let config):
            return "\(r) was given as \(asked), but its config says \(config): check --template / the spec's platform"
        case .platformNotInIndex(let r, let asked, let available):
            return "\(r) is an index without \(asked) (it has: \(available.map(\.description).joined(separator: ", ")))"
        case .unsupportedSource(let r, let why):
            return "\(r): \(why)"
        case .annotationsNeedOCI:
            return "index annotations need --type oci (a Docker manifest list has no annotations)"
        }
    }

    /// True for mistakes in the input rather than in the registry's content.
    public var isUsage: Bool {
        if case .usage = self { return true }
        if case .annotationsNeedOCI = self { return true }
        return false
    }
}
