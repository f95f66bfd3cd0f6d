// Where a build spent its time, and the line that ends it: what was built, where it went, its
// digest, size and layers, and the time of each phase.
import FoundationEssentials
import ImageStore
import Outputs
import PluginAPI
import PluginSupport

/// Wall time per phase of one build, collected from wherever the phase runs (the build binds
/// it as a task-local, so pullers and step executors need no extra parameter).
final class BuildTimings: @unchecked Sendable {
    @TaskLocal static var current: BuildTimings?

    enum Phase: String, CaseIterable {
        case pull, extract, steps, output
    }

    private let lock = Lock()
    private var seconds: [Phase: Double] = [:]
    let started = ProcessInfo.processInfo.systemUptime

    func add(_ phase: Phase, _ s: Double) { lock.withLock { seconds[phase, default: 0] += s } }

    subscript(_ phase: Phase) -> Double { lock.withLock { seconds[phase] ?? 0 } }

    /// Runs `body` and adds its wall time to `phase` of the build being timed, if any.
    static func measure<T>(_ phase: Phase, _ body: () async throws -> T) async rethrows -> T {
        let start = ProcessInfo.processInfo.systemUptime
        defer { current?.add(phase, ProcessInfo.processInfo.systemUptime - start) }
        return try await body()
    }
}

/// The last line of a successful build.
struct BuildSummary {
    var digest: Digest
    var images: [Image]
    var outputs: OutputOptions
    var timings: BuildTimings

    /// Where the image went: the pushed references, the layout and the tarball.
    var destinations: [String] {
        var out = outputs.pushes ? outputs.destinations.map(\.description) : []
        if let p = outputs.ociLayoutPath { out.append("oci:\(p)") }
        if let p = outputs.tarPath { out.append("docker-archive:\(p)") }
        return out
    }

    var layers: Int { images.reduce(0) { $0 + $1.manifest.layers.count } }
    /// The compressed layers and configs, as a registry stores them.
    var size: Int64 { images.reduce(0) { $0 + $1.manifest.layers.reduce($1.manifest.config.size) { $0 + $1.size } } }

    /// `built 127.0.0.1:5000/app:v1 sha256:… (2 layers, 6.3 MB compressed) in 12.3 s: pull 4.1 s,
    /// extract 0.2 s, steps 6.0 s, push 1.2 s`.
    var message: String {
        let total = ProcessInfo.processInfo.systemUptime - timings.started
        let what = images.count > 1 ? "index \(digest) (\(images.count) images" : "image \(digest) ("
        // Phases that never ran (no base to pull, nothing to extract) are left out.
        let phases = BuildTimings.Phase.allCases.filter { timings[$0] > 0 || $0 == .steps }
            .map { "\(label($0)) \(Self.seconds(timings[$0]))" }.joined(separator: ", ")
        let places = destinations.isEmpty ? "" : " to \(destinations.joined(separator: ", "))"
        let separator = images.count > 1 ? ", " : ""
        return "built \(what)\(separator)\(layers) layer\(layers == 1 ? "" : "s"), \(ProgressReport.bytes(size)) compressed)\(places) in "
            + "\(Self.seconds(total)): \(phases)"
    }

    var fields: [String: JSONValue] {
        var out: [String: JSONValue] = [
            "digest": .string(digest.description), "layers": .int(Int64(layers)), "size": .int(size),
            "destinations": .array(destinations.map { .string($0) }),
            "seconds": .double(Self.rounded(ProcessInfo.processInfo.systemUptime - timings.started)),
        ]
        for phase in BuildTimings.Phase.allCases { out[label(phase) + "_seconds"] = .double(Self.rounded(timings[phase])) }
        return out
    }

    private func label(_ phase: BuildTimings.Phase) -> String {
        phase == .output ? (outputs.pushes ? "push" : "write") : phase.rawValue
    }

    static func seconds(_ s: Double) -> String { String(cFormat: "%.1f s", s) }
    static func rounded(_ s: Double) -> Double { (s * 1000).rounded() / 1000 }
}
