// Knobs that are not kaniko flags: from `--plugin-option registry.<name>=<value>` or the
// environment (`KILN_REGISTRY_<NAME>`), so tests can shorten waits without new CLI flags.

struct Tuning: Sendable, Equatable {
    /// Blobs up to this size use monolithic POST + PUT; larger ones a streamed PATCH + PUT.
    /// 16 MiB: one round trip saved on small layers and configs; above that the extra request
    /// is noise and the PATCH session suits registries that cap a single PUT.
    var monolithicLimit: Int64 = 16 << 20
    /// When > 0, PATCH in chunks of this many bytes with Content-Range (registries behind
    /// proxies that cap request bodies); 0 streams the whole blob in one PATCH.
    var chunkSize: Int64 = 0
    /// Retries of a transient failure (connection reset, 408/429/5xx, a cut transfer) that
    /// every request gets without any flag, as go-containerregistry's transport gives kaniko:
    /// waits of 1 s, 2 s, 4 s. `--push-retry N` / `--image-download-retry N` raise it to N.
    var retries = 3
    /// First retry delay in seconds; doubles per attempt (kaniko: 1 s, 2 s, 4 s…).
    var retryDelay: Double = 1
    /// Upper bound for one back-off wait, including a registry's Retry-After.
    var maxRetryDelay: Double = 60
    /// Seconds below 1 byte/s before a transfer counts as stalled.
    var stallSeconds = 60
    var connectTimeoutSeconds = 30

    init() {}

    init(options: [String: String], environment: [String: String]) {
        func value(_ name: String) -> String? {
            options["registry.\(name)"]
                ?? environment["KILN_REGISTRY_" + name.uppercased().replacing("-", with: "_")]
        }
        if let v = value("monolithic-limit").flatMap(Int64.init), v >= 0 { monolithicLimit = v }
        if let v = value("chunk-size").flatMap(Int64.init), v >= 0 { chunkSize = v }
        if let v = value("retries").flatMap(Int.init), v >= 0 { retries = v }
        if let v = value("retry-delay").flatMap(Double.init), v >= 0 { retryDelay = v }
        if let v = value("max-retry-delay").flatMap(Double.init), v >= 0 { maxRetryDelay = v }
        if let v = value("stall-timeout").flatMap(Int.init), v > 0 { stallSeconds = v }
        if let v = value("connect-timeout").flatMap(Int.init), v > 0 { connectTimeoutSeconds = v }
    }
}
