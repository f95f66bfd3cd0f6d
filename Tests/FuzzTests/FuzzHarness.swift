// A seeded, deterministic mutation fuzzer for the pure front end (issue 12, "Fuzzing, kept").
// Each target starts from its corpus in Tests/Fuzz/<target>/ and runs mutated inputs for a
// bounded count and time. Before each input runs it is written to .build/fuzz/last-<target>:
// if the test process dies, that file is the crashing input; copy it into the corpus as
// crash-<what> with the fix. Inputs that break an invariant without crashing are saved into the
// corpus (found-<hash>) by the test itself and reported.
//
// KILN_FUZZ_SEED (default 0x6B696C6E), KILN_FUZZ_SECONDS (default 15 per target) and
// KILN_FUZZ_RUNS (default 20000 per target) tune a run; longer runs are for hunting.
import Foundation
import Glibc
import TestSupport

/// Byte-level mutations plus the tokens the front end cares about (substitutions, JSON,
/// continuations, heredocs, flags, huge numbers), and occasional long repetitions of one token
/// to reach depth and size limits.
struct Mutator {
    var rng: SplitMix64
    let corpus: [[UInt8]]
    let tokens: [[UInt8]]
    /// Inputs never grow past this (the corpus's own large crashers excepted).
    let maximumSize = 300_000

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var data = input
        for _ in 0...rng.below(4) {
            let at = rng.below(data.count + 1)
            switch rng.below(9) {
            case 0 where !data.isEmpty:
                data[rng.below(data.count)] ^= UInt8(1 << rng.below(8))
            case 1 where !data.isEmpty:
                let interesting: [UInt8] = [0, 0xFF, 0x80, 0xC3, 10, 13, 9, 32, 92, 36, 123, 125, 91, 93, 34, 39, 35, 61, 96, 33, 42]
                data[rng.below(data.count)] = interesting[rng.below(interesting.count)]
            case 2 where !data.isEmpty:
                let start = rng.below(data.count)
                data.removeSubrange(start..<min(data.count, start + 1 + rng.below(16)))
            case 3, 4:
                data.insert(contentsOf: tokens[rng.below(tokens.count)], at: at)
            case 5 where !data.isEmpty:
                let start = rng.below(data.count)
                let chunk = data[start..<min(data.count, start + 1 + rng.below(64))]
                data.insert(contentsOf: chunk, at: at)
            case 6:
                let other = corpus[rng.below(corpus.count)]
                guard !other.isEmpty else { break }
                let start = rng.below(other.count)
                data.insert(contentsOf: other[start..<min(other.count, start + 1 + rng.below(128))], at: at)
            case 7:
                let numbers = [
                    "0", "-1", "65536", "99999999999999999999", "9223372036854775807", "2562048h", "1e309", "-0", "0x10", "4294967296",
                ]
                data.insert(contentsOf: Array(numbers[rng.below(numbers.count)].utf8), at: at)
            default:
                // Rarely, a deep or long run of one token.
                guard rng.below(8) == 0 else { break }
                let token = tokens[rng.below(tokens.count)]
                let count = [10, 100, 1_000, 20_000][rng.below(4)]
                guard data.count + token.count * count <= maximumSize else { break }
                data.insert(contentsOf: Array([[UInt8]](repeating: token, count: count).joined()), at: at)
            }
        }
        return data.count > maximumSize ? Array(data.prefix(maximumSize)) : data
    }
}

/// Where the corpus and the last-input files live, and how a run is bounded.
enum FuzzPaths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func corpus(_ target: String) -> String { root + "/Tests/Fuzz/" + target }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["KILN_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x6B69_6C6E
    }

    static var seconds: Double {
        ProcessInfo.processInfo.environment["KILN_FUZZ_SECONDS"].flatMap { Double($0) } ?? 15
    }

    static var runs: Int {
        ProcessInfo.processInfo.environment["KILN_FUZZ_RUNS"].flatMap { Int($0) } ?? 20_000
    }

    /// The corpus files of `target`, sorted by name, as bytes.
    static func load(_ target: String) -> [(name: String, bytes: [UInt8])] {
        let dir = corpus(target)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { return nil }
            return (name, [UInt8](data))
        }
    }

    /// Overwrites `path` with `bytes` (plain POSIX I/O: cheap enough to do before every input).
    static func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// FNV-1a, to name a saved input.
    static func name(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return String(hash, radix: 16)
    }
}

/// Runs `check` on every corpus input, then on mutations until the budget is spent. `check`
/// returns a description of a broken invariant, or nil. Returns the problems found (each input
/// saved into the corpus) and the number of inputs run.
func fuzz(target: String, tokens: [String], _ check: ([UInt8]) -> String?) -> (problems: [String], runs: Int) {
    let corpus = FuzzPaths.load(target)
    let inputs = corpus.map(\.bytes)
    let lastDir = FuzzPaths.root + "/.build/fuzz"
    mkdir(lastDir, 0o755)
    let last = lastDir + "/last-" + target
    var problems: [String] = []
    var slowest: (seconds: Double, input: [UInt8]) = (0, [])
    func run(_ input: [UInt8]) {
        FuzzPaths.write(input, to: last)
        let start = Date()
        defer {
            let seconds = Date().timeIntervalSince(start)
            if seconds > slowest.seconds { slowest = (seconds, input) }
        }
        if let problem = check(input) {
            let saved = "found-" + FuzzPaths.name(input)
            FuzzPaths.write(input, to: FuzzPaths.corpus(target) + "/" + saved)
            problems.append("\(saved): \(problem)")
        }
    }
    for input in inputs { run(input) }
    var mutator = Mutator(rng: SplitMix64(state: FuzzPaths.seed), corpus: inputs, tokens: tokens.map { Array($0.utf8) })
    let deadline = Date().addingTimeInterval(FuzzPaths.seconds)
    var count = 0
    var pool = inputs.filter { $0.count < 20_000 }
    if pool.isEmpty { pool = [[]] }
    while count < FuzzPaths.runs && Date() < deadline {
        let parent = pool[mutator.rng.below(pool.count)]
        let child = mutator.mutate(parent)
        run(child)
        // Keep some children as parents so mutations stack up.
        if child.count < 20_000 && mutator.rng.below(4) == 0 { pool.append(child) }
        if pool.count > 2_000 { pool.removeFirst(pool.count - 2_000) }
        count += 1
    }
    print("fuzz \(target): \(inputs.count) corpus inputs and \(count) mutations, seed \(FuzzPaths.seed); last input in \(last)")
    print("fuzz \(target): slowest input took \(Int(slowest.seconds * 1000)) ms (\(slowest.input.count) bytes)")
    FuzzPaths.write(slowest.input, to: lastDir + "/slowest-" + target)
    return (problems, inputs.count + count)
}
