// libFuzzer entry points for long hunts (run-libfuzzer.sh compiles this file together with
// Sources/Dockerfile into one executable; it belongs to no SwiftPM target). The checks match
// Tests/FuzzTests: no crash, and every refusal a located DockerfileError. A broken invariant
// traps so libFuzzer saves the input.
import Foundation

private func mustBeLocated(_ body: () throws -> Void) {
    do {
        try body()
    } catch let error as DockerfileError {
        if error.location == nil { fatalError("DockerfileError without a location: \(error.message.prefix(200))") }
    } catch {
        fatalError("not a DockerfileError: \(error)")
    }
}

private func fuzzDockerfile(_ bytes: [UInt8]) {
    var parsed: Dockerfile?
    mustBeLocated { parsed = try Dockerfile.parse(bytes: bytes, fileName: "Dockerfile") }
    guard let file = parsed else { return }
    _ = file.dump
    var global: GlobalArguments?
    mustBeLocated { global = try GlobalArguments(dockerfile: file, buildArgs: ["B": "b"], predefined: [:]) }
    guard let global else { return }
    for stage in file.stages {
        var arguments = StageArguments(global: global, buildArgs: [:])
        var environment = ["A": "aaa", "E": ""]
        for instruction in [Instruction.from(stage.from)] + stage.instructions {
            if case .arg(let arg) = instruction {
                mustBeLocated {
                    for argument in try arguments.declare(arg, environment: environment) { environment[argument.name] = argument.value }
                }
                continue
            }
            mustBeLocated { _ = try file.expand(instruction, environment: environment) }
        }
    }
}

private func fuzzDockerIgnore(_ bytes: [UInt8]) {
    guard let ignore = try? DockerIgnore(text: String(decoding: bytes, as: UTF8.self)) else { return }
    for path in ["a", "dir/keep", "dir/sub/x", "build/x.o", ".foo"] {
        let excluded = ignore.excludes(path, isDirectory: false)
        let parts = path.split(separator: "/")
        for depth in 1..<max(parts.count, 1) where ignore.canSkipDirectory(parts[..<depth].joined(separator: "/")) && !excluded {
            fatalError("a skipped directory holds '\(path)', which is not excluded")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"] == "dockerignore" {
        fuzzDockerIgnore(bytes)
    } else {
        fuzzDockerfile(bytes)
    }
    return 0
}
