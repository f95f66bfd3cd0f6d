// The binfmt_misc side without root: kiln's magic/mask per architecture against Debian's own
// registrations (/usr/lib/binfmt.d/qemu-*.conf from qemu-user-static, read on this machine),
// the parsing of entry files, and the decisions `plan` takes from what it sees.
import Foundation
import PluginAPI
import Testing

@testable import CrossQEMUBackend

@Suite("CrossQEMU architecture table and plan")
struct ArchitectureTableTests {
    /// `:name:M:offset:magic:mask:interpreter:flags` with `\xHH` escapes and literal bytes.
    static func debianEntry(_ arch: QEMUArchitecture) throws -> BinfmtEntry? {
        let path = "/usr/lib/binfmt.d/qemu-\(arch.qemuName).conf"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":", omittingEmptySubsequences: false)
        try #require(fields.count == 8, "unexpected \(path): \(text)")
        return BinfmtEntry(
            name: String(fields[1]), enabled: true, interpreter: String(fields[6]), flags: String(fields[7]),
            offset: Int(fields[3]) ?? 0, magic: unescape(fields[4]), mask: unescape(fields[5]))
    }

    static func unescape(_ s: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.first {
            if b == UInt8(ascii: "\\"), bytes.count >= 4, bytes.dropFirst().first == UInt8(ascii: "x"),
                let v = UInt8(String(decoding: bytes.dropFirst(2).prefix(2), as: UTF8.self), radix: 16)
            {
                out.append(v)
                bytes = bytes.dropFirst(4)
            } else {
                out.append(b)
                bytes = bytes.dropFirst()
            }
        }
        return out
    }

    /// Debian's entry recognises every header kiln probes with, and kiln's own entry too: the
    /// two agree on what an executable of the architecture is.
    @Test(arguments: QEMUArchitecture.allCases)
    func kilnsMagicAgreesWithDebians(arch: QEMUArchitecture) throws {
        let ours = BinfmtEntry(
            name: arch.entryName, enabled: true, interpreter: "/x", flags: "F", offset: 0, magic: arch.magic, mask: arch.mask)
        #expect(ours.handles(arch))
        #expect(ours.matches(arch.magic + [UInt8](repeating: 0, count: 44)))
        for other in QEMUArchitecture.allCases where other != arch {
            #expect(!other.probeHeaders.contains(where: ours.matches), "\(arch)'s entry would take \(other) binaries")
        }
        guard let debian = try Self.debianEntry(arch) else {
            // Debian registers no handler for the machine's own architecture (x86_64, i386 here).
            #expect(QEMUUserBackend.isNative(Platform(os: "linux", architecture: arch.ociName)))
            return
        }
        #expect(arch.probeHeaders.allSatisfy(debian.matches), "Debian's \(debian.name) does not take kiln's \(arch) probes")
        #expect(debian.matches(arch.magic + [UInt8](repeating: 0, count: 44)))
        // Debian's entry has the F flag: had it been registered, kiln would use it.
        #expect(debian.handles(arch))
    }

    /// Each architecture has a bit in `BinfmtCleanup.registered` (a UInt32).
    @Test func everyArchitectureFitsTheCleanupBits() {
        #expect(QEMUArchitecture.allCases.allSatisfy { $0.rawValue < 32 })
        #expect(Set(QEMUArchitecture.allCases.map(\.entryName)).count == QEMUArchitecture.allCases.count)
        for arch in QEMUArchitecture.allCases {
            #expect("\(arch.entryPath)" == "/proc/sys/fs/binfmt_misc/" + arch.entryName)
        }
    }

    @Test func registrationLineIsKilnsNameMagicMaskInterpreterAndFP() {
        let line = QEMUArchitecture.aarch64.registrationLine(interpreter: "/usr/bin/qemu-aarch64-static")
        #expect(
            line
                == #":kiln-qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:"#
                + #"\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:FP"#)
    }

    @Test func entryFileIsParsed() throws {
        let text = """
            enabled
            interpreter /usr/bin/qemu-aarch64-static
            flags: POCF
            offset 0
            magic 7f454c460201010000000000000000000200b700
            mask ffffffffffffff00fffffffffffffffffeffffff

            """
        let e = try #require(BinfmtEntry(name: "qemu-aarch64", text: text))
        #expect(e.enabled && e.flags == "POCF" && e.interpreter == "/usr/bin/qemu-aarch64-static")
        #expect(e.handles(.aarch64) && !e.handles(.riscv64))
        let noF = try #require(BinfmtEntry(name: "x", text: text.replacingOccurrences(of: "POCF", with: "OC")))
        #expect(!noF.handles(.aarch64))
        let disabled = try #require(BinfmtEntry(name: "x", text: text.replacingOccurrences(of: "enabled\n", with: "disabled\n")))
        #expect(!disabled.handles(.aarch64))
        #expect(BinfmtEntry(name: "py", text: "enabled\ninterpreter /usr/bin/python3\nflags: \nextension .py\n") == nil)
    }

    static let arm64 = Platform(os: "linux", architecture: "arm64")
    static func snapshot(mounted: Bool, privileged: Bool, entries: [BinfmtEntry] = []) -> BinfmtMisc.Snapshot {
        BinfmtMisc.Snapshot(mounted: mounted, enabled: true, entries: entries, privileged: privileged, available: true)
    }

    @Test func planFollowsWhatKilnSeesAndMayDo() throws {
        let backend = QEMUUserBackend(log: { _, _ in })
        let debian = try #require(try Self.debianEntry(.aarch64))
        let noProbe: (QEMUArchitecture) -> Bool = { _ in
            Issue.record("probe not expected")
            return false
        }

        #expect(
            backend.plan(for: Self.arm64, snapshot: Self.snapshot(mounted: true, privileged: false, entries: [debian]), probe: noProbe)
                == .useExisting(debian))
        #expect(
            backend.plan(for: Self.arm64, snapshot: Self.snapshot(mounted: false, privileged: true), probe: noProbe)
                == .register(.aarch64, interpreter: "/usr/bin/qemu-aarch64-static"))
        #expect(
            backend.plan(for: Self.arm64, snapshot: Self.snapshot(mounted: false, privileged: false), probe: { _ in true }) == .useInvisible
        )
        #expect(
            backend.plan(for: Platform(os: "linux", architecture: "amd64"), snapshot: Self.snapshot(mounted: false, privileged: false))
                == .native)

        // Unprivileged, nothing registered: the host-side registration with F, phrased for GitLab.
        guard
            case .unavailable(let hostSide) = backend.plan(
                for: Self.arm64, snapshot: Self.snapshot(mounted: false, privileged: false), probe: { _ in false })
        else {
            Issue.record("expected unavailable")
            return
        }
        #expect(hostSide.contains("docker run --privileged --rm tonistiigi/binfmt --install arm64") && hostSide.contains("GitLab"))
        #expect(hostSide.contains("CAP_SYS_ADMIN"))

        // A matching entry without F is named, since it is why RUN would fail inside the root.
        var noF = debian
        noF.flags = "OP"
        guard
            case .unavailable(let why) = backend.plan(
                for: Self.arm64, snapshot: Self.snapshot(mounted: true, privileged: false, entries: [noF]), probe: noProbe)
        else {
            Issue.record("expected unavailable")
            return
        }
        #expect(why.contains("entry qemu-aarch64 matches but is missing the F flag"))
    }
}
