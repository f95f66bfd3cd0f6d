import ArgumentParser

/// How registries are reached.
struct RegistryFlags: ParsableArguments {
    @Flag(name: .customLong("insecure"), inversion: .prefixedNo, help: "Push over plain HTTP.")
    var insecure = false
    @Flag(name: .customLong("insecure-pull"), inversion: .prefixedNo, help: "Pull over plain HTTP.")
    var insecurePull = false
    @Option(name: .customLong("insecure-registry"), help: "Registry reached over plain HTTP (push and pull); repeatable.")
    var insecureRegistries: [String] = []
    @Flag(name: .customLong("skip-tls-verify"), inversion: .prefixedNo, help: "Do not verify TLS certificates of any registry.")
    var skipTLSVerify = false
    @Flag(name: .customLong("skip-tls-verify-pull"), inversion: .prefixedNo, help: "Do not verify TLS certificates when pulling.")
    var skipTLSVerifyPull = false
    @Option(name: .customLong("skip-tls-verify-registry"), help: "Registry whose TLS certificate is not verified; repeatable.")
    var skipTLSVerifyRegistries: [String] = []
    @Option(
        name: .customLong("registry-certificate"),
        help: ArgumentHelp("CA certificate for one registry; repeatable.", valueName: "registry=ca.pem"))
    var registryCertificates: [String] = []
    @Option(
        name: .customLong("registry-client-cert"),
        help: ArgumentHelp("Client certificate and key for one registry (mTLS); repeatable.", valueName: "registry=cert,key"))
    var registryClientCerts: [String] = []
    @Option(name: .customLong("registry-mirror"), help: "Mirror for docker.io pulls; repeatable, tried in order.")
    var registryMirrors: [String] = []
    @Option(
        name: .customLong("registry-map"),
        help: ArgumentHelp("Pull from a mirror of one registry; repeatable, ';' separates pairs.", valueName: "registry=mirror"))
    var registryMaps: [String] = []
    @Flag(
        name: .customLong("skip-default-registry-fallback"), inversion: .prefixedNo,
        help: "Fail when every mirror fails instead of pulling from the original registry.")
    var skipDefaultRegistryFallback = false
    @Option(name: .customLong("image-download-retry"), help: "Extra attempts for failed pulls.")
    var imageDownloadRetry = 0
    @Option(name: .customLong("image-fs-extract-retry"), help: "Extra attempts for extracting base image layers.")
    var imageFSExtractRetry = 0
    @Option(
        name: .customLong("registry-plugin"), help: "Registry client: a component name (oci), a plugin name, or a plugin library's path.")
    var registryPlugin = "oci"
}
