// The RegistryOCI plugin: a client of the OCI distribution API over libcurl (component `oci`).
//
// Layout: Transport/ (libcurl: easy-handle pool per host, lanes of 4 blob transfers + 1 spare
// per host, dedicated threads, streaming bodies), Auth/ (WWW-Authenticate, token requests,
// docker config.json and credential helpers, redaction), Client/ (the RegistryClient: pull,
// push, uploads, errors with hints).
//
// Log lines (all through PluginContext.log, every one passed through the secret scrubber):
//   debug  oci: <METHOD> <redacted URL> -> <status> (sent <n> B, received <n> B, <s.sss> s)
//   debug  oci: <METHOD> <redacted URL> -> failed: <reason> (curl error <code>)
//   debug  oci: blob <digest> uploaded to <registry>/<repo> (<n> bytes)
//   debug  oci: blob <digest> already in <registry>/<repo>, skipped
//   debug  oci: blob <digest> mounted from <registry>/<source> into <registry>/<repo>
//   debug  oci: push summary for <registry>/<repo>: pushed <N> blobs (<M> bytes), skipped <K> existing, mounted <J>
//   debug  oci: transfer totals: requests: GET=<n> HEAD=<n> …; sent <n> B; received <n> B
//   debug  oci: push permission for <registry>/<repo> confirmed
//   debug  oci: <host> does not answer HTTPS but answers HTTP; using http:// (local or private address)
//   info   oci: <what> failed (<reason>); retry <i> of <n> in <s.s> s
//   warning oci: registry warning: <text of a Warning: 299 header>
// Redacted URLs keep only the values of digest, mount, from, n, last, service, scope and tag
// query parameters (others print as REDACTED) and never user-info.
//
// Schemes: HTTPS (system CAs, plus a per-host --registry-certificate), plain HTTP for
// --insecure-registry / --insecure (push) / --insecure-pull; localhost, loopback and RFC 1918
// hosts try HTTPS and fall back to HTTP as kaniko does. Credentials: see CredentialLookup.swift.
//
// Tuning (`--plugin-option registry.<name>=v` or env `KILN_REGISTRY_<NAME>`): monolithic-limit
// (bytes, default 16 MiB), chunk-size (bytes, default 0 = one streamed PATCH), retry-delay
// (s, default 1), max-retry-delay (s, 60), stall-timeout (s, 60), connect-timeout (s, 30).
import FoundationEssentials
import HTTPTransport
import PluginAPI

/// The plugin API version this plugin was compiled against (checked before anything else).
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(RegistryOCIModule()).toOpaque()
}

final class RegistryOCIModule: KilnPluginModule {
    let name = "RegistryOCI"
    let summary = "OCI distribution client over libcurl: token/basic auth, TLS per registry, mounts, retries"

    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        let environment = ProcessInfo.processInfo.environment
        let tuning = Tuning(options: context.options, environment: environment)
        return [OCIRegistryClient(options: context.registry, tuning: tuning, environment: environment, log: context.log)]
    }
}
