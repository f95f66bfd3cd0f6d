import Builder
import Diagnostics
import FoundationEssentials
import LayerCache
import Outputs
import PluginAPI
import PluginHost
import PluginSupport

/// What the Host itself needs from the flags, beside the engine's options: which plugins to
/// resolve and how registries are reached.
struct HostSettings {
    /// `--snapshot-mode`, normalised (`redo` is `time`).
    var snapshotMode = "full"
    /// `--registry-plugin`: component name, plugin name or library path.
    var registryPlugin = "oci"
    /// Registry settings handed to plugins (`--insecure…`, `--registry-certificate`…).
    var registry = RegistryOptions()
    /// `--isolation` as given (`auto` is settled by `IsolationChoice` before a build) and `--force`.
    var isolation = "auto"
    var force = false
}

/// Maps kaniko's flags (and its environment fallbacks) onto the engine's option groups,
/// refusing what is not available yet.
enum BuildOptionsFactory {
    static func make(build b: BuildFlags, output o: OutputFlags, registry r: RegistryFlags, environment env: [String: String]) throws
        -> (BuildOptions, HostSettings)
    {
        var host = HostSettings()
        switch b.snapshotMode {
        case "full": host.snapshotMode = "full"
        case "time", "redo": host.snapshotMode = "time"
        default: throw KilnError.usage("--snapshot-mode must be full, time or redo, not '\(b.snapshotMode)'")
        }
        var options = BuildOptions(source: try source(b, environment: env))
        var platforms: [Platform] = []
        for text in b.customPlatforms.flatMap({ $0.split(separator: ",").map { $0.trimmed() } }) {
            let platform: Platform
            do { platform = try Platform(parsing: text) } catch { throw KilnError.usage("--custom-platform \(text)", cause: error) }
            if !platforms.contains(where: { $0.normalized == platform.normalized }) { platforms.append(platform) }
        }
        if let first = platforms.first { options.platform = first }
        options.platforms = platforms
        options.layers = try layers(b, environment: env)
        options.execution = try execution(b, environment: env)
        options.outputs = try outputs(o, environment: env)
        options.baseImages = try baseImages(r, output: o, environment: env)
        options.cache = try cache(o, destinations: options.outputs.destinations)
        host.registry = try registryOptions(r, output: o, environment: env)
        options.execution.userAgent = host.registry.userAgent
        host.registryPlugin = r.registryPlugin
        host.isolation = b.isolation
        host.force = b.force
        return (options, host)
    }

    static func source(_ b: BuildFlags, environment env: [String: String]) throws -> SourceOptions {
        var source = SourceOptions(dockerfile: b.dockerfile, context: b.context)
        source.contextSubPath = b.contextSubPath
        source.target = b.target
        source.skipUnusedStages = b.skipUnusedStages
        source.environment = env
        for arg in b.buildArgs {
            if let eq = arg.firstIndex(of: "=") {
                source.buildArgs.append((String(arg[..<eq]), String(arg[arg.index(after: eq)...])))
            } else {
                source.buildArgs.append((arg, env[arg]))
            }
        }
        for label in b.labels {
            guard let eq = label.firstIndex(of: "=") else { throw KilnError.usage("--label needs key=value, got '\(label)'") }
            source.labels.append((String(label[..<eq]), String(label[label.index(after: eq)...])))
        }
        source.git = try GitCheckout.Options(parsing: b.git)
        for entry in b.buildContexts {
            let (name, context) = try NamedContext.parse(flag: entry)
            source.namedContexts[name] = context
        }
        return source
    }

    static func layers(_ b: BuildFlags, environment env: [String: String]) throws -> LayerOptions {
        var layers = LayerOptions()
        guard let compression = Compression(rawValue: b.compression) else {
            throw KilnError.usage("--compression must be gzip, zstd or none, not '\(b.compression)'")
        }
        layers.compression = compression
        layers.compressionLevel = b.compressionLevel >= 0 ? b.compressionLevel : nil
        layers.singleSnapshot = b.singleSnapshot
        // SOURCE_DATE_EPOCH clamps timestamps even without --reproducible, which means 0.
        if let epoch = env["SOURCE_DATE_EPOCH"], !epoch.isEmpty {
            guard let v = Int64(epoch), v >= 0 else {
                throw KilnError.usage("SOURCE_DATE_EPOCH must be a whole number of seconds, not '\(epoch)'")
            }
            layers.timestamps = .fixed(v)
        } else if b.reproducible {
            layers.timestamps = .fixed(0)
        }
        return layers
    }

    static func execution(_ b: BuildFlags, environment env: [String: String]) throws -> ExecutionOptions {
        var execution = ExecutionOptions()
        // `auto` is settled by the Build command (IsolationChoice), which probes the machine.
        guard b.isolation == "auto" || ExecutionOptions.Isolation(rawValue: b.isolation) != nil else {
            throw KilnError.usage("--isolation must be auto, chroot or none, not '\(b.isolation)'")
        }
        execution.isolation = ExecutionOptions.Isolation(rawValue: b.isolation) ?? .chroot
        guard let cross = ExecutionOptions.CrossMode(rawValue: b.cross) else {
            throw KilnError.usage("--cross must be auto, qemu or native, not '\(b.cross)'")
        }
        execution.cross = cross
        if let jobs = b.jobs {
            guard jobs >= 1 else { throw KilnError.usage("--jobs must be 1 or more, not \(jobs)") }
            execution.jobs = jobs
        }
        if let text = b.stageJobs.map(String.init) ?? env["KILN_STAGE_JOBS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let jobs = Int(text), jobs >= 1 else {
                throw KilnError.usage("--stage-jobs (KILN_STAGE_JOBS) must be 1 or more, not '\(text)'")
            }
            execution.stageJobs = jobs
        }
        execution.workDirectory = b.workDirectory ?? env["KILN_DIR"] ?? env["KANIKO_DIR"]
        execution.temporaryDirectory = env["TMPDIR"]
        execution.cleanup = b.cleanup
        execution.ignorePaths = b.ignorePaths
        execution.ignoreVarRun = b.ignoreVarRun
        // In place, kiln's own binary and plugins must survive the wipe between stages.
        if let exe = StandardPluginDiscovery.executableDirectory() { execution.protectedPaths.append(exe) }
        execution.runMounts.cacheDirectory = b.runCacheDirectory
        do {
            for spec in b.secrets { try execution.runMounts.addSecret(spec, environment: env) }
            for spec in b.ssh { try execution.runMounts.addSSH(spec, environment: env) }
        } catch {
            throw KilnError.usage("\(error)")
        }
        return execution
    }

    static func outputs(_ o: OutputFlags, environment env: [String: String]) throws -> OutputOptions {
        var outputs = OutputOptions()
        outputs.push = !(o.noPush || ["1", "true"].contains(env["KANIKO_NO_PUSH"]?.lowercased() ?? ""))
        for d in o.destinations {
            do { outputs.destinations.append(try ImageReference(parsing: d)) } catch {
                throw KilnError.usage("--destination", cause: error)
            }
        }
        // With no destination and no tarball, the image goes to ./kiln-out (a build needs
        // nothing external).
        outputs.ociLayoutPath = o.ociLayoutPath ?? (outputs.destinations.isEmpty && o.tarPath == nil ? "kiln-out" : nil)
        outputs.tarPath = o.tarPath
        outputs.digestFile = o.digestFile
        outputs.imageNameWithDigestFile = o.imageNameWithDigestFile
        outputs.imageNameTagWithDigestFile = o.imageNameTagWithDigestFile
        outputs.pushIgnoreImmutableTagErrors = o.pushIgnoreImmutableTagErrors
        outputs.skipPushPermissionCheck = o.skipPushPermissionCheck
        if (o.imageNameWithDigestFile != nil || o.imageNameTagWithDigestFile != nil) && outputs.destinations.isEmpty {
            throw KilnError.usage("--image-name-with-digest-file and --image-name-tag-with-digest-file need a --destination")
        }
        return outputs
    }

    /// `--cache…`: kaniko's rule that `--cache` without a destination needs `--cache-repo`.
    static func cache(_ o: OutputFlags, destinations: [ImageReference]) throws -> LayerCacheOptions {
        var cache = LayerCacheOptions()
        cache.enabled = o.cache
        if let text = o.cacheRepo, !text.isEmpty {
            do { cache.repository = try LayerCacheOptions.repository(parsing: text) } catch {
                throw KilnError.usage("--cache-repo \(text): not a repository (host/name) or oci:/path", cause: error)
            }
            if case .layout(let path) = cache.repository, path.isEmpty { throw KilnError.usage("--cache-repo oci: needs a path") }
        } else if o.cache {
            guard let first = destinations.first else {
                throw KilnError.usage("--cache needs --cache-repo (host/name or oci:/path) when there is no --destination")
            }
            cache.repository = LayerCacheOptions.defaultRepository(for: first)
        }
        cache.ttl = try Duration.parseSeconds(o.cacheTTL, flag: "--cache-ttl")
        cache.copyLayers = o.cacheCopyLayers
        cache.runLayers = o.cacheRunLayers
        cache.push = !o.noPushCache
        return cache
    }

    static func baseImages(_ r: RegistryFlags, output o: OutputFlags, environment env: [String: String]) throws -> BaseImageOptions {
        var base = BaseImageOptions()
        base.cacheDirectory = o.cacheDir
        base.cacheTTL = try Duration.parseSeconds(o.cacheTTL, flag: "--cache-ttl")
        var mirrors = r.registryMirrors
        if mirrors.isEmpty, let m = env["KANIKO_REGISTRY_MIRROR"] { mirrors = m.split(separator: ";").map(String.init) }
        for m in mirrors { base.registryMaps.append(("docker.io", m)) }
        var maps = r.registryMaps
        if maps.isEmpty, let m = env["KANIKO_REGISTRY_MAP"] { maps = [m] }
        for entry in maps {
            for piece in entry.split(separator: ";") {
                base.registryMaps.append(try pair(String(piece), flag: "--registry-map", form: "registry=mirror"))
            }
        }
        base.skipDefaultRegistryFallback = r.skipDefaultRegistryFallback
        base.extractRetry = max(0, r.imageFSExtractRetry)
        return base
    }

    static func registryOptions(_ r: RegistryFlags, output o: OutputFlags, environment env: [String: String]) throws -> RegistryOptions {
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
            guard parts.count == 2 else { throw KilnError.usage("--registry-client-cert needs registry=cert,key, got '\(c)'") }
            reg.clientCertificates[host] = ClientCertificate(certificatePath: parts[0], keyPath: parts[1])
        }
        reg.dockerConfigDirectory = env["DOCKER_CONFIG"]
        reg.pushRetry = max(0, o.pushRetry)
        reg.downloadRetry = max(0, r.imageDownloadRetry)
        reg.userAgent = "kiln/\(KilnVersion.current)"
        return reg
    }

    static func pair(_ text: String, flag: String, form: String) throws -> (String, String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw KilnError.usage("\(flag) needs \(form), got '\(text)'")
        }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }
}
