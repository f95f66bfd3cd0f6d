// Mirrors OCI image-spec 1.1 `config.md` (the Docker config is the same JSON with extra
// fields; the ones the builder writes are kept here too).

import PluginAPI

/// The image configuration blob.
public struct ImageConfig: Codable, Hashable, Sendable {
    /// RFC 3339 timestamp; a string so the exact text round-trips and digests stay stable.
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var config: ContainerConfig?
    public var rootfs: RootFS
    public var history: [History]?

    enum CodingKeys: String, CodingKey {
        case created, author, architecture, os, variant, config, rootfs, history
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(
        platform: Platform, config: ContainerConfig? = ContainerConfig(), rootfs: RootFS = RootFS(diffIDs: []), history: [History]? = []
    ) {
        self.architecture = platform.architecture
        self.os = platform.os
        self.variant = platform.variant
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    public var platform: Platform {
        get { Platform(os: os, architecture: architecture, variant: variant) }
        set {
            os = newValue.os
            architecture = newValue.architecture
            variant = newValue.variant
        }
    }
}

/// The `config` object: defaults for a container started from the image.
public struct ContainerConfig: Codable, Hashable, Sendable {
    public var user: String?
    public var exposedPorts: [String: EmptyObject]?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: [String: EmptyObject]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var argsEscaped: Bool?
    /// Docker extensions the builder keeps (not in the OCI spec, read by Docker and podman).
    public var healthcheck: HealthConfig?
    public var onBuild: [String]?
    public var shell: [String]?

    enum CodingKeys: String, CodingKey {
        case user = "User"
        case exposedPorts = "ExposedPorts"
        case env = "Env"
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case volumes = "Volumes"
        case workingDir = "WorkingDir"
        case labels = "Labels"
        case stopSignal = "StopSignal"
        case argsEscaped = "ArgsEscaped"
        case healthcheck = "Healthcheck"
        case onBuild = "OnBuild"
        case shell = "Shell"
    }

    public init() {}
}

/// Docker's health check configuration; durations in nanoseconds.
public struct HealthConfig: Codable, Hashable, Sendable {
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?

    enum CodingKeys: String, CodingKey {
        case test = "Test"
        case interval = "Interval"
        case timeout = "Timeout"
        case startPeriod = "StartPeriod"
        case startInterval = "StartInterval"
        case retries = "Retries"
    }

    public init(test: [String]? = nil) { self.test = test }
}

/// `{}` in JSON: the value type of `ExposedPorts` and `Volumes` maps.
public struct EmptyObject: Codable, Hashable, Sendable {
    public init() {}
    public init(from decoder: Decoder) throws {}
    public func encode(to encoder: Encoder) throws {
        _ = encoder.container(keyedBy: NoKeys.self)
    }
    private enum NoKeys: CodingKey {}
}

public struct RootFS: Codable, Hashable, Sendable {
    public var type: String = "layers"
    public var diffIDs: [Digest]

    enum CodingKeys: String, CodingKey {
        case type
        case diffIDs = "diff_ids"
    }

    public init(diffIDs: [Digest]) { self.diffIDs = diffIDs }
}

public struct History: Codable, Hashable, Sendable {
    public var created: String?
    public var createdBy: String?
    public var author: String?
    public var comment: String?
    public var emptyLayer: Bool?

    enum CodingKeys: String, CodingKey {
        case created, author, comment
        case createdBy = "created_by"
        case emptyLayer = "empty_layer"
    }

    public init(created: String? = nil, createdBy: String? = nil, author: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
        self.created = created
        self.createdBy = createdBy
        self.author = author
        self.comment = comment
        self.emptyLayer = emptyLayer
    }
}
