// The image tag a CI pipeline pushes, the recipe users script by hand around kaniko: the
// default branch gets `latest`, a tag pipeline the git tag, anything else the commit SHA.
// Pure: the caller passes the environment and the bytes of GitHub's event file.
import FoundationEssentials

/// The CI system whose variables decided the tag.
public enum CISystem: String, Sendable, Equatable {
    case gitlab = "GitLab CI"
    case github = "GitHub Actions"
}

/// Why this tag was chosen.
public enum CITagReason: String, Sendable, Equatable {
    /// A pipeline on the default branch.
    case defaultBranch = "default branch"
    /// A tag pipeline.
    case gitTag = "git tag"
    /// Any other pipeline (feature branch, merge request, pull request).
    case commit = "commit"
}

/// The result of `CITag.resolve`.
public struct CITagResult: Sendable, Equatable {
    /// The image tag, already sanitised.
    public var tag: String
    public var system: CISystem
    public var reason: CITagReason

    public init(tag: String, system: CISystem, reason: CITagReason) {
        self.tag = tag
        self.system = system
        self.reason = reason
    }
}

/// Picks the image tag for the current pipeline from GitLab CI's or GitHub Actions' variables.
public enum CITag {
    /// Why no tag could be chosen.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible, Sendable {
        /// Neither GitLab CI's nor GitHub Actions' variables are set.
        case noCI
        /// The CI system was recognised but a variable the recipe needs is empty.
        case missingVariable(CISystem, String)
        /// A GitHub branch pipeline whose default branch is unknown (no readable event file).
        case unknownDefaultBranch(reason: String)
        /// The name has no character a tag may hold.
        case unusable(String)

        public var description: String {
            switch self {
            case .noCI:
                return "no CI detected: set GitLab CI's variables (CI_COMMIT_SHA, CI_COMMIT_BRANCH, CI_DEFAULT_BRANCH, "
                    + "CI_COMMIT_TAG) or GitHub Actions' (GITHUB_SHA, GITHUB_REF_TYPE, GITHUB_REF_NAME, GITHUB_EVENT_PATH)"
            case .missingVariable(let system, let name):
                return "\(system.rawValue) detected, but \(name) is empty or unset"
            case .unknownDefaultBranch(let reason):
                return "GitHub Actions detected, but the default branch is unknown (\(reason)); pass --default-branch NAME"
            case .unusable(let name):
                return "'\(name)' has no character an image tag may contain"
            }
        }
    }

    /// The tag for the pipeline the environment describes.
    ///
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - githubEvent: the contents of the file at `GITHUB_EVENT_PATH`, when it could be read.
    ///   - defaultBranch: overrides the CI's own idea of the default branch.
    ///   - shortSHA: use the first 8 characters of the commit (GitLab's `CI_COMMIT_SHORT_SHA`).
    /// - Throws: `CITag.Error`.
    public static func resolve(
        environment env: [String: String], githubEvent: [UInt8]? = nil, defaultBranch: String? = nil, shortSHA: Bool = false
    ) throws -> CITagResult {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        func commit(_ system: CISystem, _ name: String) throws -> CITagResult {
            guard let sha = value(name) else { throw Error.missingVariable(system, name) }
            return CITagResult(tag: try sanitize(shortSHA ? String(sha.prefix(8)) : sha), system: system, reason: .commit)
        }

        if env["GITLAB_CI"] == "true" || value("CI_COMMIT_SHA") != nil {
            if let tag = value("CI_COMMIT_TAG") {
                return CITagResult(tag: try sanitize(tag), system: .gitlab, reason: .gitTag)
            }
            if let branch = value("CI_COMMIT_BRANCH"), branch == (defaultBranch ?? value("CI_DEFAULT_BRANCH")) {
                return CITagResult(tag: "latest", system: .gitlab, reason: .defaultBranch)
            }
            return try commit(.gitlab, "CI_COMMIT_SHA")
        }

        if env["GITHUB_ACTIONS"] == "true" || value("GITHUB_SHA") != nil {
            let refType = value("GITHUB_REF_TYPE")
            if refType == "tag" {
                guard let tag = value("GITHUB_REF_NAME") else { throw Error.missingVariable(.github, "GITHUB_REF_NAME") }
                return CITagResult(tag: try sanitize(tag), system: .github, reason: .gitTag)
            }
            if refType == "branch", let branch = value("GITHUB_REF_NAME") {
                let main = try defaultBranch ?? githubDefaultBranch(event: githubEvent, path: value("GITHUB_EVENT_PATH"))
                if branch == main { return CITagResult(tag: "latest", system: .github, reason: .defaultBranch) }
            }
            return try commit(.github, "GITHUB_SHA")
        }
        throw Error.noCI
    }

    /// `repository.default_branch` of a GitHub Actions event payload.
    static func githubDefaultBranch(event: [UInt8]?, path: String?) throws -> String {
        guard let path else { throw Error.unknownDefaultBranch(reason: "GITHUB_EVENT_PATH is not set") }
        guard let event else { throw Error.unknownDefaultBranch(reason: "\(path) could not be read") }
        struct Event: Decodable {
            struct Repository: Decodable { var default_branch: String? }
            var repository: Repository?
        }
        let object = try? JSONDecoder().decode(Event.self, from: Data(event))
        guard let branch = object?.repository?.default_branch, !branch.isEmpty
        else { throw Error.unknownDefaultBranch(reason: "\(path) has no repository.default_branch") }
        return branch
    }

    /// The longest a tag may be (distribution-spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
    public static let maximumLength = 128

    /// Makes `name` a valid tag: characters outside `[A-Za-z0-9._-]` become `-`, a leading `.`
    /// or `-` becomes `_`, and the result is cut to 128 characters.
    /// - Throws: `Error.unusable` when nothing usable is left (an empty name).
    public static func sanitize(_ name: String) throws -> String {
        var scalars: [Unicode.Scalar] = []
        for s in name.unicodeScalars {
            let allowed = s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "." || s == "-")
            scalars.append(allowed ? s : "-")
            if scalars.count == maximumLength { break }
        }
        guard let first = scalars.first else { throw Error.unusable(name) }
        if first == "." || first == "-" { scalars[0] = "_" }
        // Names made only of replaced characters say nothing about the pipeline.
        guard scalars.contains(where: { $0 != "-" && $0 != "_" && $0 != "." }) else { throw Error.unusable(name) }
        return String(String.UnicodeScalarView(scalars))
    }
}
