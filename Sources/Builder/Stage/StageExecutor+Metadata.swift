import Diagnostics
import Dockerfile
import ImageModel
import PluginAPI

extension StageExecutor {
    /// Instructions that change only the image config (and history).
    func applyMetadata(_ instruction: Instruction) throws {
        var c = state.containerConfig
        switch instruction {
        case .env(let env):
            state.config.config = c
            c = ContainerConfig()  // drop this copy's hold on the ENV array so setEnv appends in place
            for pair in env.pairs { state.setEnv(pair.key, pair.value) }
            c = state.containerConfig
        case .arg:
            break  // declared before expansion, see `declare(_:)`
        case .label(let label):
            var labels = c.labels ?? [:]
            for pair in label.pairs { labels[pair.key] = pair.value }
            c.labels = labels
        case .user(let user):
            c.user = user.user
        case .expose(let expose):
            var ports = c.exposedPorts ?? [:]
            for port in try expose.ports.flatMap({ try Self.exposedPorts($0, location: expose.location) }) { ports[port] = EmptyObject() }
            c.exposedPorts = ports
        case .volume(let volume):
            var volumes = c.volumes ?? [:]
            for path in volume.paths where !path.isEmpty {
                volumes[path] = EmptyObject()
                // The directory exists for later steps (0755, root, as BuildKit makes it); what
                // they write there is kept in the image. No layer of its own: an empty volume
                // directory is made by the runtime.
                do {
                    if try !root.makeDirectories(imagePath(path), permissions: 0o755, uid: 0, gid: 0).created.isEmpty {
                        state.snapshotStale = true
                    }
                } catch {
                    throw KilnError.at(volume.location, "VOLUME \(path)", cause: error, fallback: .invalidInput)
                }
            }
            c.volumes = volumes
        case .cmd(let cmd):
            switch cmd.command {
            case .shell(let line): c.cmd = state.shell + [line]
            case .exec(let args): c.cmd = args
            }
            state.cmdFromBase = false
        case .entrypoint(let entrypoint):
            switch entrypoint.command {
            case .shell(let line): c.entrypoint = state.shell + [line]
            case .exec(let args): c.entrypoint = args
            }
            if state.cmdFromBase {
                c.cmd = nil
                state.cmdFromBase = false
            }
        case .shell(let shell):
            state.shell = shell.shell
            c.shell = shell.shell
        case .stopSignal(let s):
            c.stopSignal = s.signal
        case .healthcheck(let h):
            switch h.check {
            case .none:
                c.healthcheck = HealthConfig(test: ["NONE"])
            case .command(let cmd):
                var health = HealthConfig(test: cmd.test)
                health.interval = cmd.interval
                health.timeout = cmd.timeout
                health.startPeriod = cmd.startPeriod
                health.startInterval = cmd.startInterval
                health.retries = cmd.retries
                c.healthcheck = health
            }
        case .onbuild(let onbuild):
            c.onBuild = (c.onBuild ?? []) + [onbuild.expression]
        case .maintainer(let m):
            state.config.author = m.name
        default:
            throw KilnError.at(instruction.location, .internal, "\(instruction.keyword) is not a metadata instruction")
        }
        state.config.config = c
        addHistory(instruction.original)
    }

    /// `ARG name[=default]` inside a stage: a `--build-arg` wins, then the default (expanded
    /// with the stage's environment), then the global value of the same name.
    func declare(_ arg: ArgInstruction) throws {
        do {
            try state.declare(arg, escape: session.dockerfile.escape)
        } catch let error as DockerfileError {
            throw KilnError.dockerfile(error)
        } catch {
            throw KilnError.at(arg.location, arg.original, cause: error, fallback: .invalidInput)
        }
        addHistory(arg.original)
    }

    /// `80`, `80/udp`, `8000-8002/tcp` → `["80/tcp"]`, `["80/udp"]`, one entry per port.
    static func exposedPorts(_ text: String, location: SourceLocation) throws -> [String] {
        let parts = PortSpec.containerPart(of: text).split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard ["tcp", "udp", "sctp"].contains(proto) else {
            throw KilnError.at(location, .invalidInput, "EXPOSE \(text): protocol must be tcp, udp or sctp")
        }
        let range = parts[0].split(separator: "-", maxSplits: 1).map(String.init)
        guard let low = Int(range[0]), (0...65535).contains(low) else {
            throw KilnError.at(location, .invalidInput, "EXPOSE \(text): invalid port")
        }
        let high = range.count > 1 ? Int(range[1]) ?? -1 : low
        guard high >= low, high <= 65535 else { throw KilnError.at(location, .invalidInput, "EXPOSE \(text): invalid port range") }
        return (low...high).map { "\($0)/\(proto)" }
    }
}
