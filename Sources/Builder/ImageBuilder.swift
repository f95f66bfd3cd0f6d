import Dockerfile
import Foundation
import ImageStore
import PluginAPI
import PluginHost

/// What a build produced.
public struct BuildResult: Sendable {
    /// The manifest digest (as pushed, when pushed).
    public var digest: Digest
    /// The image in the build's blob store (valid until the working directory is removed).
    public var image: Image
}

/// Builds the Dockerfile the options name and writes or pushes the image.
public struct ImageBuilder: Sendable {
    public var options: BuildOptions
    public var plugins: PluginSet
    public var log: BuildLog

    public init(options: BuildOptions, plugins: PluginSet, log: BuildLog) {
        self.options = options
        self.plugins = plugins
        self.log = log
    }

    public func run() async throws -> BuildResult {
        if !options.destinations.isEmpty && !options.noPush {
            // Fail before a long build, not after it.
            _ = try RegistrySelection.client(plugins, name: options.registryPlugin)
        }
        let (workDirectory, owned) = try makeWorkDirectory()
        defer {
            if owned || options.cleanup { try? removeTree(workDirectory) }
        }
        let (text, dockerfilePath) = try readDockerfile()
        let dockerfile: Dockerfile
        do {
            dockerfile = try Dockerfile.parse(text, fileName: BuildRoot.lastComponent(of: options.dockerfile))
        } catch {
            throw BuildError.failed("\(error)")
        }
        let context = try BuildContext.open(options: options, workDirectory: workDirectory, dockerfilePath: dockerfilePath)
        let plan = try BuildPlan(dockerfile: dockerfile, options: options)
        let store = try BlobStore(root: workDirectory + "/store")
        try FileManager.default.createDirectory(atPath: workDirectory + "/layers", withIntermediateDirectories: true)
        let session = BuildSession(
            options: options, plugins: plugins, log: log, workDirectory: workDirectory, store: store,
            context: context, dockerfile: dockerfile, plan: plan)
        let pusher = ImagePusher(session: session, plugins: plugins, options: options, log: log)
        try await pusher.checkPermissions()

        var final: StageResult?
        for index in plan.stagesToBuild {
            let stage = dockerfile.stages[index]
            log.info("\(stageLabel(index, plan)) FROM \(stage.from.image)\(stage.name.map { " AS \($0)" } ?? "")")
            let (initial, root, triggers) = try await BaseImages(session: session).start(stage)
            var state = initial
            for (k, v) in options.labels {
                var c = state.containerConfig
                c.labels = (c.labels ?? [:]).merging([k: v]) { $1 }
                state.config.config = c
            }
            let executor = StageExecutor(session: session, stage: stage, root: root, state: state)
            try await executor.run(triggers: triggers)
            let result = StageResult(state: executor.state, root: root)
            session.finished[index] = result
            final = result
        }
        let unused = dockerfile.unconsumedBuildArguments(plan.buildArgs)
        if !unused.isEmpty { log.warning("build args not consumed by any ARG: \(unused.joined(separator: ", "))") }

        guard var state = final?.state else { throw BuildError.failed("nothing to build") }
        state.config.platform = options.targetPlatform
        state.config.created = session.timestamp
        let image: Image
        do {
            image = try Image.build(config: state.config, layers: state.layers, format: state.format, in: store)
        } catch {
            throw BuildError.failed("assembling the image: \(error)")
        }
        let outputs = Outputs(options: options, log: log)
        try await outputs.writeLocal(image)
        var digest = image.digest
        if !options.noPush && !options.destinations.isEmpty {
            digest = try await pusher.push(image, mountingFrom: session.pulledReferences)
        }
        try outputs.writeDigestFiles(digest)
        log.info("image \(digest)")
        return BuildResult(digest: digest, image: image)
    }

    func stageLabel(_ index: Int, _ plan: BuildPlan) -> String {
        "[\((plan.stagesToBuild.firstIndex(of: index) ?? index) + 1)/\(plan.stagesToBuild.count)]"
    }

    /// `--kaniko-dir`/`--work-dir`, or a fresh directory under `$TMPDIR` (removed afterwards).
    func makeWorkDirectory() throws -> (String, Bool) {
        if let dir = options.workDirectory {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let build = dir + "/build-\(getpid())"
            try? removeTree(build)
            try FileManager.default.createDirectory(atPath: build, withIntermediateDirectories: true)
            // A directory the user named is kept (kaniko's default) unless --cleanup.
            return (build, false)
        }
        // /var/tmp rather than /tmp: build roots can be large and /tmp is often a small tmpfs.
        let base = options.environment["TMPDIR"] ?? (FileManager.default.fileExists(atPath: "/var/tmp") ? "/var/tmp" : "/tmp")
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        var template = Array((base + "/kiln-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BuildError.failed("cannot create a working directory under \(base): \(String(cString: strerror(errno)))")
        }
        return (String(cString: made), true)
    }

    /// The Dockerfile's text and path: as given if it exists, else relative to the context.
    func readDockerfile() throws -> (String, String) {
        var candidates = [options.dockerfile]
        if !options.dockerfile.hasPrefix("/") {
            var ctx = options.context
            if ctx.hasPrefix("dir://") { ctx.removeFirst(6) }
            candidates.append(ctx + "/" + options.dockerfile)
        }
        for path in candidates {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
                let bytes: Data
                do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                    throw BuildError.failed("cannot read \(path): \(error.localizedDescription)")
                }
                do { return (try Dockerfile.decode([UInt8](bytes), fileName: BuildRoot.lastComponent(of: options.dockerfile)), path) } catch
                {
                    throw BuildError.failed("\(error)")
                }
            }
        }
        throw BuildError.usage("Dockerfile not found: looked for \(candidates.joined(separator: " and "))")
    }
}
