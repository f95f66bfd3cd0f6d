// What a chroot-mode step can reach of the host's devices (issue 12, item 1) and of kiln's own
// process (item 9): it cannot make a device node, cannot open one the image ships, gets a working
// minimal /dev, and its PID namespace holds nothing of kiln's.
import Foundation
import Glibc
import Runner
import Testing

@Suite(.enabled(if: Prerequisites.enabled))
struct DeviceIsolationTests {
    @Test(arguments: [
        "c 10 232",  // /dev/kvm
        "c 10 237",  // /dev/loop-control
        "c 10 229",  // /dev/fuse
        "c 5 1",  // /dev/console
        "c 4 0",  // /dev/tty0
        "b 8 0",  // the first SCSI/SATA disk, whole
    ])
    func mknodOfAHostDeviceIsNotPermitted(numbers: String) async throws {
        let result = try await runScript("mknod /tmp/node \(numbers) 2>&1; echo rc=$?; ls /tmp")
        #expect(result.lines.first?.hasSuffix("Operation not permitted") == true, "\(result.lines)")
        #expect(result.lines.dropFirst().first.map { $0 != "rc=0" } == true, "\(result.lines)")
        #expect(!result.lines.contains("node"), "\(result.lines)")
    }

    @Test func fifosAndSocketsCanStillBeMade() async throws {
        let result = try await runScript("mknod /tmp/fifo p && test -p /tmp/fifo && echo fifo")
        #expect(result.lines == ["fifo"])
    }

    /// Device nodes an image ships outside /dev (made here on the host, as a layer would) exist in
    /// the step but do not open, even for root, even with /dev/null's numbers.
    @Test func deviceNodesShippedInTheRootDoNotOpen() async throws {
        let result = try await runScript(
            """
            ls /dev-in-image/zero-twin /tmp/kvm-twin /tmp/null-twin
            (echo x > /tmp/null-twin) 2>&1; echo write-null=$?
            (exec 3</tmp/kvm-twin) 2>/dev/null; echo open-kvm=$?
            head -c 1 /dev-in-image/zero-twin >/dev/null 2>&1; echo read-zero=$?
            """,
            prepare: { root in
                try root.makeDevice("/tmp/null-twin", major: 1, minor: 3)
                try root.makeDevice("/tmp/kvm-twin", major: 10, minor: 232)
                try root.makeDevice("/dev-in-image/zero-twin", major: 1, minor: 5)
            })
        #expect(
            result.lines == [
                "/dev-in-image/zero-twin", "/tmp/kvm-twin", "/tmp/null-twin",
                "/bin/sh: can't create /tmp/null-twin: Permission denied", "write-null=1", "open-kvm=1", "read-zero=1",
            ], "\(result.lines)")
    }

    @Test func aDeviceInAWritableBindDoesNotOpen() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let data = root.path + "-data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: data) }
        guard mknod(data + "/null-twin", S_IFCHR | 0o666, dev_t(1) << 8 | dev_t(3)) == 0 else { throw POSIXError(.EPERM) }
        let spec = RunSpec(
            argv: [
                "/bin/sh", "-c", "test -c /mnt/data/null-twin && echo there; (echo x > /mnt/data/null-twin) 2>/dev/null; echo write=$?",
            ],
            root: root.path, binds: [BindMount(source: data, destination: "/mnt/data", readOnly: false)])
        let lines = Lines()
        #expect(try await Runner.run(spec, output: lines.sink) == 0)
        #expect(lines.all == ["there", "write=1"])
    }

    @Test func theStandardDevicesWork() async throws {
        let result = try await runScript(
            """
            echo x > /dev/null && echo null
            head -c 4 /dev/zero | wc -c
            head -c 4 /dev/urandom | wc -c
            head -c 4 /dev/random | wc -c
            echo x 2>&1 > /dev/full | grep -c 'No space left on device'
            test -d /dev/shm && test -d /dev/pts && test -c /dev/pts/ptmx && echo dirs
            readlink /dev/ptmx; readlink /dev/fd
            grep -E ' /dev/(pts|shm) ' /proc/mounts | cut -d' ' -f2,3
            """)
        #expect(
            result.lines == ["null", "4", "4", "4", "1", "dirs", "pts/ptmx", "/proc/self/fd", "/dev/pts devpts", "/dev/shm tmpfs"],
            "\(result.lines)")
    }

    /// The step is PID 1 of its namespace, as in `docker build`; no process there carries the
    /// command line of the process that started it (kiln's, which may hold secrets).
    @Test func noProcessInTheNamespaceIsKilns() async throws {
        let exe = try #require(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let result = try await runScript(
            "echo $$; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done")
        #expect(result.lines.first == "1", "\(result.lines)")
        #expect(result.lines.dropFirst().first?.hasPrefix("/bin/sh -c echo $$;") == true, "\(result.lines)")
        #expect(!result.lines.contains { $0.contains(exe) }, "\(result.lines)")
    }
}

extension BusyboxRoot {
    /// Makes a device node inside the root, as a hostile layer would ship it.
    func makeDevice(_ inner: String, major: UInt32, minor: UInt32) throws {
        let path = self.path + inner
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // glibc's makedev() encoding, for numbers below 256.
        let device = dev_t(major) << 8 | dev_t(minor)
        guard mknod(path, S_IFCHR | 0o666, device) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
