// `--isolation auto|chroot|none` settled for this machine, with kaniko's rule that a build in
// place (which unpacks images over `/`) happens only inside a container unless `--force`.
import Builder
import Diagnostics
import FoundationEssentials
import Runner

enum IsolationChoice {
    static func resolve(flag: String, force: Bool, log: BuildLog) throws -> ExecutionOptions.Isolation {
        switch flag {
        case "chroot":
            return .chroot
        case "none":
            if let evidence = IsolationProbe.containerEvidence() {
                log.debug("in place: this is a container (\(evidence))")
            } else if force {
                log.warning("--isolation none --force: building in place over this machine's /")
            } else {
                throw KilnError.usage(
                    "--isolation none builds in place, over this machine's /, and nothing says this is a container "
                        + "(no /.dockerenv, /run/.containerenv, container cgroup or KUBERNETES_SERVICE_HOST): refusing, as kaniko "
                        + "does; pass --force if this machine is disposable")
            }
            return .none
        default:
            if IsolationProbe.canIsolate() { return .chroot }
            if let evidence = IsolationProbe.containerEvidence() {
                log.info(
                    "RUN runs in place (kaniko's model): this container allows no namespaces for RUN (no CAP_SYS_ADMIN); \(evidence)")
                return .none
            }
            if force {
                log.warning("no namespaces for RUN and not a container: --force builds in place over this machine's /")
                return .none
            }
            throw KilnError.usage(
                "RUN cannot be isolated here (no namespaces: run kiln as root with CAP_SYS_ADMIN) and this is not a container, "
                    + "so building in place would overwrite this machine's /: refusing; pass --isolation none --force if it is disposable")
        }
    }
}
