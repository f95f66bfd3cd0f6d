// The architectures QEMU user mode emulates for kiln, and the ELF header bytes by which
// binfmt_misc recognises their executables. The magic/mask pairs follow from the ELF format
// (ELF class, byte order, e_type, e_machine; see the System V ABI, "ELF Header"); the test
// `CrossQEMUTests.ArchitectureTableTests` checks them against Debian's
// /usr/lib/binfmt.d/qemu-*.conf where the machine has them.
import PluginAPI

/// One architecture kiln can emulate with `qemu-<name>-static`.
///
/// The raw value is the bit this architecture takes in the process-wide cleanup registry
/// (`BinfmtCleanup`), so it must stay below 32.
enum QEMUArchitecture: Int, CaseIterable, Sendable {
    case x86_64, i386, aarch64, arm, ppc64le, s390x, riscv64, mips64el, loongarch64

    /// The architecture whose binaries run under `platform` (`nil`: QEMU cannot emulate it).
    init?(_ platform: Platform) {
        let p = platform.normalized
        guard p.os == "linux" else { return nil }
        switch p.architecture {
        case "amd64": self = .x86_64
        case "386": self = .i386
        case "arm64": self = .aarch64
        case "arm": self = .arm  // qemu-arm's default CPU runs v5, v6 and v7 code
        case "ppc64le": self = .ppc64le
        case "s390x": self = .s390x
        case "riscv64": self = .riscv64
        case "mips64le": self = .mips64el
        case "loong64": self = .loongarch64
        default: return nil
        }
    }

    /// QEMU's name, as in `qemu-aarch64-static`.
    var qemuName: String { "\(self)" }

    /// The OCI architecture name, for messages and the host-side registration advice.
    var ociName: String {
        switch self {
        case .x86_64: return "amd64"
        case .i386: return "386"
        case .aarch64: return "arm64"
        case .arm: return "arm"
        case .ppc64le: return "ppc64le"
        case .s390x: return "s390x"
        case .riscv64: return "riscv64"
        case .mips64el: return "mips64le"
        case .loongarch64: return "loong64"
        }
    }

    /// The binfmt_misc entry kiln registers for this architecture: a name of its own, so kiln
    /// never collides with, nor removes, an entry somebody else made.
    var entryName: String { "kiln-qemu-\(qemuName)" }

    /// `/proc/sys/fs/binfmt_misc/<entryName>` as static, NUL-terminated bytes: the signal-time
    /// cleanup writes to it without allocating (see `BinfmtCleanup.releaseAll`).
    var entryPath: StaticString {
        switch self {
        case .x86_64: return "/proc/sys/fs/binfmt_misc/kiln-qemu-x86_64"
        case .i386: return "/proc/sys/fs/binfmt_misc/kiln-qemu-i386"
        case .aarch64: return "/proc/sys/fs/binfmt_misc/kiln-qemu-aarch64"
        case .arm: return "/proc/sys/fs/binfmt_misc/kiln-qemu-arm"
        case .ppc64le: return "/proc/sys/fs/binfmt_misc/kiln-qemu-ppc64le"
        case .s390x: return "/proc/sys/fs/binfmt_misc/kiln-qemu-s390x"
        case .riscv64: return "/proc/sys/fs/binfmt_misc/kiln-qemu-riscv64"
        case .mips64el: return "/proc/sys/fs/binfmt_misc/kiln-qemu-mips64el"
        case .loongarch64: return "/proc/sys/fs/binfmt_misc/kiln-qemu-loongarch64"
        }
    }

    /// The architecture whose entry is named `entryName`, if it is one of kiln's.
    init?(entryName: String) {
        guard let a = Self.allCases.first(where: { $0.entryName == entryName }) else { return nil }
        self = a
    }

    /// ELF identification: 64-bit class, big-endian byte order, e_machine.
    private var elf: (is64: Bool, bigEndian: Bool, machine: UInt16) {
        switch self {
        case .x86_64: return (true, false, 62)  // EM_X86_64
        case .i386: return (false, false, 3)  // EM_386
        case .aarch64: return (true, false, 183)  // EM_AARCH64
        case .arm: return (false, false, 40)  // EM_ARM
        case .ppc64le: return (true, false, 21)  // EM_PPC64
        case .s390x: return (true, true, 22)  // EM_S390
        case .riscv64: return (true, false, 243)  // EM_RISCV
        case .mips64el: return (true, false, 8)  // EM_MIPS
        case .loongarch64: return (true, false, 258)  // EM_LOONGARCH
        }
    }

    /// Two bytes in the architecture's byte order.
    private func half(_ v: UInt16) -> [UInt8] {
        let lo = UInt8(v & 0xff)
        let hi = UInt8(v >> 8)
        return elf.bigEndian ? [hi, lo] : [lo, hi]
    }

    /// The first 20 bytes of an executable of this architecture (e_ident, e_type, e_machine)
    /// as kiln registers them; the mask below lets any OS/ABI byte, ABI version and both
    /// ET_EXEC and ET_DYN (static-pie, PIE) through.
    var magic: [UInt8] {
        [0x7f, 0x45, 0x4c, 0x46, elf.is64 ? 2 : 1, elf.bigEndian ? 2 : 1, 1, 0] + [UInt8](repeating: 0, count: 8) + half(2)
            + half(elf.machine)
    }

    var mask: [UInt8] {
        // e_ident: magic, class, data and version exact; OS/ABI and ABI version free; padding 0.
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00] + [UInt8](repeating: 0xff, count: 7)
            // e_type 2 (EXEC) or 3 (DYN): the low bit free; e_machine exact.
            + (elf.bigEndian ? [0xff, 0xfe] : [0xfe, 0xff]) + [0xff, 0xff]
    }

    /// ELF headers an executable of this architecture may start with (64 bytes each): ET_EXEC
    /// and ET_DYN, OS/ABI "System V" and "GNU/Linux". An existing binfmt_misc entry is taken to
    /// handle the architecture only when it matches all of them.
    var probeHeaders: [[UInt8]] {
        var out: [[UInt8]] = []
        for type: UInt16 in [2, 3] {
            for osABI: UInt8 in [0, 3] {
                var h: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, elf.is64 ? 2 : 1, elf.bigEndian ? 2 : 1, 1, osABI]
                h += [UInt8](repeating: 0, count: 8) + half(type) + half(elf.machine)
                h += elf.bigEndian ? [0, 0, 0, 1] : [1, 0, 0, 0]  // e_version
                h += [UInt8](repeating: 0, count: 64 - h.count)
                out.append(h)
            }
        }
        return out
    }

    /// The line written to `/proc/sys/fs/binfmt_misc/register`: match by magic at offset 0,
    /// and the F (fix-binary) flag, so the kernel opens the interpreter now and RUN steps find
    /// it inside any root file system, chroot or mount namespace; and the P flag (preserve
    /// argv[0], which QEMU 6.1 and later read from AT_FLAGS), as Debian's own registration has
    /// it: busybox's shell runs an applet by executing /proc/self/exe with the applet's name as
    /// argv[0], and without P the emulated busybox runs its shell instead.
    func registrationLine(interpreter: String) -> String {
        func escaped(_ bytes: [UInt8]) -> String {
            bytes.map { "\\x" + String($0, radix: 16).leftPadded(to: 2) }.joined()
        }
        return ":\(entryName):M::\(escaped(magic)):\(escaped(mask)):\(interpreter):FP"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
