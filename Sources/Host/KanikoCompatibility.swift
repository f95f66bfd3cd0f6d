/// Rewrites kaniko command-line spellings into kiln's: cobra's `--flag=true|false` for boolean
/// flags and the deprecated camelCase names.
enum KanikoCompatibility {
    static let booleanFlags: Set<String> = [
        "skip-unused-stages", "single-snapshot", "reproducible", "ignore-var-run", "cleanup",
        "force-build-metadata", "use-new-run", "force", "no-push", "push-ignore-immutable-tag-errors",
        "skip-push-permission-check", "cache", "cache-copy-layers", "cache-run-layers", "no-push-cache",
        "compressed-caching", "insecure", "insecure-pull", "skip-tls-verify", "skip-tls-verify-pull",
        "skip-default-registry-fallback", "log-timestamp",
    ]

    static let renamed: [String: String] = [
        "snapshotMode": "snapshot-mode", "customPlatform": "custom-platform", "tarPath": "tar-path",
        "whitelist-var-run": "ignore-var-run",
    ]

    static func rewrite(_ args: [String]) -> [String] {
        var out: [String] = []
        var passthrough = false
        for arg in args {
            if passthrough || !arg.hasPrefix("--") || arg == "--" {
                if arg == "--" { passthrough = true }
                out.append(arg)
                continue
            }
            var body = String(arg.dropFirst(2))
            var value: String?
            if let eq = body.firstIndex(of: "=") {
                value = String(body[body.index(after: eq)...])
                body = String(body[..<eq])
            }
            if let new = renamed[body] { body = new }
            if booleanFlags.contains(body), let v = value?.lowercased(), ["true", "false", "1", "0"].contains(v) {
                let on = v == "true" || v == "1"
                if body.hasPrefix("no-") {
                    if on { out.append("--\(body)") }  // `--no-push=false` is the default: drop it
                } else {
                    out.append(on ? "--\(body)" : "--no-\(body)")
                }
            } else {
                out.append("--\(body)" + (value.map { "=\($0)" } ?? ""))
            }
        }
        return out
    }
}
