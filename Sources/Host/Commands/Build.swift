import ArgumentParser
import Builder
import Foundation
import PluginAPI
import PluginHost

/// `kiln build` (and `kiln` alone): kaniko's executor.
struct Build: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an image from a Dockerfile (the default command; kaniko's executor flags).")

    @OptionGroup(title: "Build") var build: BuildFlags
    @OptionGroup(title: "Output") var output: OutputFlags
    @OptionGroup(title: "Registries") var registry: RegistryFlags
    @OptionGroup(title: "Logging and plugins") var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let environment = ProcessInfo.processInfo.environment
        let log = try HostWiring.log(global)
        let options = try BuildOptionsFactory.make(build: build, output: output, registry: registry, environment: environment)
        let plugins = try HostWiring.loadPlugins(global, registry: options.registry, log: log, extraPlugin: options.registryPlugin)
        let builder = ImageBuilder(options: options, plugins: plugins, log: log)
        let result = try await builder.run()
        print(result.digest.description)
    }
}

/// Turns parsed flags into `BuildOptions`, applying kaniko's environment fallbacks and
/// refusing what is not available yet.
enum BuildOptionsFactory {
    static func make(build b: BuildFlags, output o: OutputFlags, registry r: RegistryFlags, environment env: [String: String]) throws
        -> BuildOptions
    {
        var opts = BuildOptions()
        opts.environment = env
        opts.dockerfile = b.dockerfile
        opts.context = b.context
        opts.contextSubPath = b.contextSubPath
        opts.target = b.target
        opts.skipUnusedStages = b.skipUnusedStages
        opts.singleSnapshot = b.singleSnapshot
        opts.reproducible = b.reproducible
        opts.ignorePaths = b.ignorePaths
        opts.ignoreVarRun = b.ignoreVarRun
        opts.cleanup = b.cleanup
        opts.forceBuildMetadata = b.forceBuildMetadata
        opts.workDirectory = b.workDirectory ?? env["KILN_DIR"] ?? env["KANIKO_DIR"]

        switch b.snapshotMode {
        case "full": opts.snapshotMode = "full"
        case "time", "redo": opts.snapshotMode = "time"
        default: throw BuildError.usage("--snapshot-mode must be full, time or redo, not '\(b.snapshotMode)'")
        }
        guard ["chroot", "none"].contains(b.isolation) else {
            throw BuildError.usage("--isolation must be chroot or none, not '\(b.isolation)'")
        }
        opts.isolation = b.isolation
        if let p = b.customPlatform {
            do { opts.platform = try Platform(parsing: p) } catch { throw BuildError.usage("--custom-platform: \(error)") }
        }
        guard let compression = Compression(rawValue: b.compression) else {
            throw BuildError.usage("--compression must be gzip, zstd or none, not '\(b.compression)'")
        }
        opts.compression = compression
        opts.compressionLevel = b.compressionLevel
        if let epoch = env["SOURCE_DATE_EPOCH"], !epoch.isEmpty {
            guard let v = Int64(epoch), v >= 0 else {
                throw BuildError.usage("SOURCE_DATE_EPOCH must be a whole number of seconds, not '\(epoch)'")
            }
            opts.sourceDateEpoch = v
        }
        for arg in b.buildArgs {
            if let eq = arg.firstIndex(of: "=") {
                opts.buildArgs.append((String(arg[..<eq]), String(arg[arg.index(after: eq)...])))
            } else {
                opts.buildArgs.append((arg, env[arg]))
            }
        }
        for label in b.labels {
            guard let eq = label.firstIndex(of: "=") else { throw BuildError.usage("--label needs key=value, got '\(label)'") }
            opts.labels.append((String(label[..<eq]), String(label[label.index(after: eq)...])))
        }
        if !b.git.isEmpty { throw BuildError.notAvailableYet("--git (git:// build contexts)") }

        // Outputs.
        opts.noPush = o.noPush || ["1", "true"].contains(env["KANIKO_NO_PUSH"]?.lowercased() ?? "")
        for d in o.destinations {
            do { opts.destinations.append(try ImageReference(parsing: d)) } catch { throw BuildError.usage("--destination: \(error)") }
        }
        opts.ociLayoutPath = o.ociLayoutPath
        opts.tarPath = o.tarPath
        opts.digestFile = o.digestFile
        opts.imageNameWithDigestFile = o.imageNameWithDigestFile
        opts.imageNameTagWithDigestFile = o.imageNameTagWithDigestFile
        opts.pushIgnoreImmutableTagErrors = o.pushIgnoreImmutableTagErrors
        opts.skipPushPermissionCheck = o.skipPushPermissionCheck
        if (o.imageNameWithDigestFile != nil || o.imageNameTagWithDigestFile != nil) && opts.destinations.isEmpty {
            throw BuildError.usage("--image-name-with-digest-file and --image-name-tag-with-digest-file need a --destination")
        }
        if o.cache || o.cacheRepo != nil { throw BuildError.notAvailableYet("the layer cache (--cache, --cache-repo)") }
        if o.cacheCopyLayers { throw BuildError.notAvailableYet("--cache-copy-layers") }
        opts.cacheDirectory = o.cacheDir
        opts.cacheTTL = try Duration.parseSeconds(o.cacheTTL, flag: "--cache-ttl")

        // Registries.
        var reg = RegistryOptions()
        reg.insecurePush = r.insecure
        reg.insecurePull = r.insecurePull
        reg.insecureRegistries = r.insecureRegistries
        reg.skipTLSVerify = r.skipTLSVerify
        reg.skipTLSVerifyPull = r.skipTLSVerifyPull
        reg.skipTLSVerifyRegistries = r.skipTLSVerifyRegistries
        for c in r.registryCertificates {
            let (host, path) = try pair(c, flag: "--registry-certificate", form: "registry=ca.pem")
            reg.certificates[host] = path
        }
        for c in r.registryClientCerts {
            let (host, files) = try pair(c, flag: "--registry-client-cert", form: "registry=cert,key")
            let parts = files.split(separator: ",").map(String.init)
            guard parts.count == 2 else { throw BuildError.usage("--registry-client-cert needs registry=cert,key, got '\(c)'") }
            reg.clientCertificates[host] = ClientCertificate(certificatePath: parts[0], keyPath: parts[1])
        }
        reg.dockerConfigDirectory = env["DOCKER_CONFIG"]
        reg.pushRetry = max(0, o.pushRetry)
        reg.downloadRetry = max(0, r.imageDownloadRetry)
        reg.userAgent = "kiln/\(KilnVersion.current)"
        opts.registry = reg
        var mirrors = r.registryMirrors
        if mirrors.isEmpty, let m = env["KANIKO_REGISTRY_MIRROR"] { mirrors = m.split(separator: ";").map(String.init) }
        for m in mirrors { opts.registryMaps.append(("docker.io", m)) }
        var maps = r.registryMaps
        if maps.isEmpty, let m = env["KANIKO_REGISTRY_MAP"] { maps = [m] }
        for entry in maps {
            for piece in entry.split(separator: ";") {
                let (from, to) = try pair(String(piece), flag: "--registry-map", form: "registry=mirror")
                opts.registryMaps.append((from, to))
            }
        }
        opts.skipDefaultRegistryFallback = r.skipDefaultRegistryFallback
        opts.extractRetry = max(0, r.imageFSExtractRetry)
        opts.registryPlugin = r.registryPlugin
        return opts
    }

    static func pair(_ text: String, flag: String, form: String) throws -> (String, String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw BuildError.usage("\(flag) needs \(form), got '\(text)'")
        }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }
}

/// Go-style durations as kaniko's flags take them (`336h`, `90m`, `1h30m`, `45s`).
enum Duration {
    static func parseSeconds(_ text: String, flag: String) throws -> Int64 {
        var total: Double = 0
        var number = ""
        var sawUnit = false
        var chars = Array(text)
        if let n = Int64(text) { return n }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isNumber || c == "." {
                number.append(c)
                i += 1
                continue
            }
            var unit = String(c)
            if c == "m", i + 1 < chars.count, chars[i + 1] == "s" {
                unit = "ms"
                i += 1
            }
            guard let v = Double(number) else { throw BuildError.usage("\(flag): invalid duration '\(text)'") }
            switch unit {
            case "h": total += v * 3600
            case "m": total += v * 60
            case "s": total += v
            case "ms": total += v / 1000
            default: throw BuildError.usage("\(flag): invalid duration '\(text)' (units: h, m, s)")
            }
            number = ""
            sawUnit = true
            i += 1
        }
        chars = []
        guard sawUnit, number.isEmpty else { throw BuildError.usage("\(flag): invalid duration '\(text)'") }
        return Int64(total)
    }
}
