import FoundationEssentials
import Glibc
import PluginAPI
import PluginSupport

/// Runs RUN steps' foreign-architecture binaries under QEMU user mode through binfmt_misc.
///
/// - `status(for:)` has no side effects: `.native`, `.emulated` (a suitable registration
///   exists, or kiln may register Debian's `qemu-<arch>-static`), or `.unavailable` with the
///   one command that fixes it.
/// - `prepare(for:)` uses a suitable registration when there is one (registering nothing);
///   otherwise mounts binfmt_misc if needed and registers `kiln-qemu-<arch>` with the F flag.
/// - `release(_:)` removes exactly what that session registered and unmounts binfmt_misc only
///   if kiln mounted it. Sessions of concurrent builds share kiln's entry and mount; the last
///   release undoes them. Call it once per session.
/// - `releaseAll()` is the synchronous, signal-safe way out (see `BinfmtCleanup`).
package struct QEMUUserBackend: CrossBuildBackend {
    package let name = "qemu"
    let log: @Sendable (LogLevel, String) -> Void
    /// Where `qemu-<arch>-static` is looked for, in order (plugin option `qemu-dir` overrides).
    let interpreterDirectories: [String]

    package static let defaultInterpreterDirectories = ["/usr/bin", "/usr/local/bin"]

    package init(log: @escaping @Sendable (LogLevel, String) -> Void, interpreterDirectories: [String] = defaultInterpreterDirectories) {
        self.log = log
        self.interpreterDirectories = interpreterDirectories
    }

    /// What kiln would do for a platform, given what it sees of binfmt_misc.
    enum Plan: Equatable {
        case native
        case useExisting(BinfmtEntry)
        /// A registration made outside this container that kiln cannot read (binfmt_misc not
        /// mounted here) but that the kernel honours: seen by `ExecProbe`.
        case useInvisible
        case register(QEMUArchitecture, interpreter: String)
        case unavailable(String)
    }

    /// The platform runs without emulation: the same architecture, or i386 on an amd64 kernel
    /// (which runs it natively; Debian's qemu-user-static registers no i386 handler there).
    static func isNative(_ platform: Platform) -> Bool {
        let p = platform.normalized
        let host = Platform.host
        guard p.os == host.os else { return false }
        return p.architecture == host.architecture || (host.architecture == "amd64" && p.architecture == "386")
    }

    func interpreter(for arch: QEMUArchitecture) -> String? {
        interpreterDirectories.lazy.map { "\($0)/qemu-\(arch.qemuName)-static" }.first { access($0, X_OK) == 0 }
    }

    /// The decision, from a snapshot of binfmt_misc; `probe` runs `ExecProbe` when needed.
    func plan(
        for platform: Platform, snapshot s: BinfmtMisc.Snapshot, probe: (QEMUArchitecture) -> Bool = ExecProbe.kernelExecutes
    ) -> Plan {
        if Self.isNative(platform) { return .native }
        guard let arch = QEMUArchitecture(platform) else {
            let known = QEMUArchitecture.allCases.map { "linux/\($0.ociName)" }.joined(separator: ", ")
            return .unavailable("QEMU user mode has no emulator kiln knows for it (kiln can emulate \(known))")
        }
        // An entry that preserves argv[0] (P) first: without it busybox's shell, which runs an
        // applet by executing /proc/self/exe under the applet's name, runs the wrong applet.
        let usable = s.entries.filter { $0.handles(arch) }
        if s.enabled, let entry = usable.first(where: { $0.flags.contains("P") }) ?? usable.first { return .useExisting(entry) }
        let interpreter = interpreter(for: arch)
        if s.mayRegister, let interpreter { return .register(arch, interpreter: interpreter) }
        if !s.mounted, !s.mayRegister, probe(arch) { return .useInvisible }

        // Why not, and the one command that fixes it.
        var missing = ["no binfmt_misc registration with the fix-binary (F) flag runs \(arch.qemuName) binaries"]
        for e in s.entries where e.magic.count > 0 && arch.probeHeaders.allSatisfy(e.matches) {
            missing.append("entry \(e.name) matches but is \(e.enabled ? "missing the F flag" : "disabled")")
        }
        if !s.enabled {
            missing.append("binfmt_misc is switched off")
            return .unavailable(missing.joined(separator: "; ") + ": echo 1 > \(BinfmtMisc.mountPoint)/status")
        }
        if s.mayRegister {
            let places = interpreterDirectories.joined(separator: ", ")
            missing.append("qemu-\(arch.qemuName)-static is not installed (looked in \(places))")
            return .unavailable(missing.joined(separator: "; ") + ": \(QEMUAdvice.install)")
        }
        if !s.privileged { missing.append("kiln may not register one (that needs root with CAP_SYS_ADMIN)") }
        if !s.available { missing.append("this kernel has no binfmt_misc") }
        if !s.mounted, s.available { missing.append("binfmt_misc is not mounted here") }
        return .unavailable(missing.joined(separator: "; ") + ": " + QEMUAdvice.hostRegistration(arch))
    }

    package func status(for platform: Platform) async -> CrossBuildStatus {
        if Self.isNative(platform) { return .native }
        let plan = (try? await runBlocking { self.plan(for: platform, snapshot: BinfmtMisc.snapshot()) }) ?? .unavailable("internal error")
        switch plan {
        case .native: return .native
        case .useExisting(let e): return .emulated(interpreter: e.interpreter)
        case .useInvisible: return .emulated(interpreter: "a binfmt_misc handler registered outside this container")
        case .register(_, let interpreter): return .emulated(interpreter: interpreter)
        case .unavailable(let reason): return .unavailable(reason: reason)
        }
    }

    package func prepare(for platform: Platform) async throws -> CrossBuildSession {
        if Self.isNative(platform) { return CrossBuildSession(platform: platform, interpreter: nil, registeredEntries: []) }
        return try await runBlocking {
            try BinfmtCleanup.references.withLock { (refs) throws(QEMUError) -> CrossBuildSession in
                try self.prepareLocked(platform, &refs)
            }
        }
    }

    /// Under the process-wide lock: takes a mount reference if binfmt_misc must be (or was, by
    /// kiln) mounted, then uses an entry or registers kiln's.
    private func prepareLocked(_ platform: Platform, _ refs: inout BinfmtCleanup.References) throws(QEMUError) -> CrossBuildSession {
        var holdsMount = false
        if !BinfmtMisc.isMounted() {
            let s = BinfmtMisc.snapshot()
            guard s.mayRegister else {
                // Nothing kiln may do; a registration made outside may still serve.
                switch plan(for: platform, snapshot: s) {
                case .useInvisible:
                    log(.info, "\(platform): using a binfmt_misc registration made outside this container")
                    return CrossBuildSession(platform: platform, interpreter: nil, registeredEntries: [])
                case .unavailable(let reason): throw .unavailable(platform, reason: reason)
                default: throw .unavailable(platform, reason: "binfmt_misc is not mounted and kiln may not mount it")
                }
            }
            // Recorded before the call: a signal handler running on this thread then finds it
            // either done (and undoes it) or not started (the process ends before it starts).
            BinfmtCleanup.recordMounted()
            do throws(QEMUError) { try BinfmtMisc.mount() } catch {
                _ = BinfmtCleanup.claimMounted()
                let advice = QEMUArchitecture(platform).map(QEMUAdvice.hostRegistration) ?? QEMUAdvice.install
                throw .prepareFailed(platform, cause: error.description, advice: advice)
            }
            log(.debug, "mounted binfmt_misc on \(BinfmtMisc.mountPoint)")
            refs.mount += 1
            holdsMount = true
        } else if BinfmtCleanup.mounted.load(ordering: .sequentiallyConsistent) {
            refs.mount += 1  // kiln's own mount: keep it until this session ends too
            holdsMount = true
        }

        do throws(QEMUError) {
            switch plan(for: platform, snapshot: BinfmtMisc.snapshot()) {
            case .native, .useInvisible:
                return CrossBuildSession(platform: platform, interpreter: nil, registeredEntries: [], mountedBinfmtMisc: holdsMount)
            case .useExisting(let entry):
                if let arch = QEMUArchitecture(entryName: entry.name), let n = refs.entries[arch], n > 0 {
                    refs.entries[arch] = n + 1  // kiln's own entry, from an earlier session of this process
                    return CrossBuildSession(
                        platform: platform, interpreter: entry.interpreter, registeredEntries: [entry.name], mountedBinfmtMisc: holdsMount)
                }
                log(.info, "\(platform): using the existing binfmt_misc entry \(entry.name) (\(entry.interpreter))")
                return CrossBuildSession(
                    platform: platform, interpreter: entry.interpreter, registeredEntries: [], mountedBinfmtMisc: holdsMount)
            case .register(let arch, let interpreter):
                BinfmtCleanup.recordRegistered(arch)  // before the call, as for the mount
                do throws(QEMUError) {
                    try BinfmtMisc.writeCommand(arch.registrationLine(interpreter: interpreter), to: BinfmtMisc.mountPoint + "/register")
                } catch {
                    _ = BinfmtCleanup.claimRegistered(arch)
                    throw QEMUError.prepareFailed(
                        platform, cause: "registering \(arch.entryName): \(error.description)", advice: QEMUAdvice.hostRegistration(arch))
                }
                refs.entries[arch] = 1
                log(.info, "\(platform): registered binfmt_misc entry \(arch.entryName) → \(interpreter) (F)")
                return CrossBuildSession(
                    platform: platform, interpreter: interpreter, registeredEntries: [arch.entryName], mountedBinfmtMisc: holdsMount)
            case .unavailable(let reason):
                throw QEMUError.unavailable(platform, reason: reason)
            }
        } catch {
            if holdsMount { try? Self.dropMountReference(&refs) }
            throw error
        }
    }

    package func release(_ session: CrossBuildSession) async throws {
        guard !session.registeredEntries.isEmpty || session.mountedBinfmtMisc else { return }
        try await runBlocking {
            try BinfmtCleanup.references.withLock { (refs) throws(QEMUError) in
                var problems: [String] = []
                for name in session.registeredEntries {
                    guard let arch = QEMUArchitecture(entryName: name), let n = refs.entries[arch], n > 0 else { continue }
                    if n > 1 {
                        refs.entries[arch] = n - 1
                        continue
                    }
                    refs.entries[arch] = nil
                    guard BinfmtCleanup.claimRegistered(arch) else { continue }  // releaseAll() got there first
                    do throws(QEMUError) {
                        try BinfmtMisc.writeCommand("-1", to: BinfmtMisc.mountPoint + "/" + name)
                        self.log(.debug, "removed binfmt_misc entry \(name)")
                    } catch {
                        if case .system(_, let e) = error, e == ENOENT { continue }  // somebody removed it already
                        problems.append(error.description)
                    }
                }
                if session.mountedBinfmtMisc {
                    do throws(QEMUError) { try Self.dropMountReference(&refs) } catch { problems.append(error.description) }
                }
                if !problems.isEmpty { throw .releaseFailed(problems) }
            }
        }
    }

    /// One session fewer relies on kiln's mount; the last one unmounts.
    private static func dropMountReference(_ refs: inout BinfmtCleanup.References) throws(QEMUError) {
        guard refs.mount > 0 else { return }
        refs.mount -= 1
        if refs.mount == 0, BinfmtCleanup.claimMounted() { try BinfmtMisc.unmount() }
    }

    package func releaseAll() { BinfmtCleanup.releaseAll() }
}
