// Pull: manifests (digest-checked against the body, Docker-Content-Digest and the reference)
// and blobs (streamed to a file, hashed on the way, removed on any failure).
import FoundationEssentials
import Glibc
import HTTPTransport
import PluginAPI
import PluginSupport

extension OCIRegistryClient {
    /// Manifests larger than this are refused (the spec's registries accept at least 4 MB).
    static let manifestLimit = 16 << 20

    func fetchManifest(_ reference: ImageReference, accept: [MediaType]) async throws -> FetchedManifest {
        let endpoint = await self.endpoint(reference.registry, push: false)
        let repository = reference.repository
        let url = "\(endpoint.base)/v2/\(repository)/manifests/\(reference.manifestReference)"
        let types = accept.isEmpty ? MediaType.manifestAccept : accept
        return try await retrying(retries(push: false), "GET manifest \(reference)") { _ in
            var request = HTTPRequest(method: .get, url: url)
            request.headers = ["Accept: " + types.map(\.rawValue).joined(separator: ", ")]
            request.sink = .memory(limit: Self.manifestLimit)
            let (response, finalURL) = try await exchange(
                request, endpoint: endpoint, repository: repository, scopes: Self.scopes(repository, push: false), push: false,
                lane: .metadata)
            let ctx = await context(endpoint, repository, push: false)
            guard response.status == 200 else { throw RegistryError.status(response, method: .get, url: finalURL, context: ctx) }
            func fail(_ message: String) -> RegistryError {
                RegistryError(
                    kind: .verification(message), statusCode: 200, method: "GET", url: URLRedaction.redact(finalURL),
                    registry: endpoint.host, repository: repository, isTemporary: false)
            }
            let bytes = response.body
            let computed = Digest.sha256(of: bytes)
            if let header = response.headers["Docker-Content-Digest"], let claimed = try? Digest(parsing: header),
                claimed.algorithm == .sha256, claimed != computed
            {
                throw fail("manifest digest \(computed) does not match Docker-Content-Digest \(claimed)")
            }
            var digest = computed
            if let wanted = reference.digest {
                guard wanted.algorithm == .sha256 else { throw fail("cannot verify a \(wanted.algorithm.rawValue) manifest digest") }
                guard wanted == computed else { throw fail("manifest digest \(computed) does not match the requested \(wanted)") }
                digest = wanted
            }
            let mediaType = try Self.mediaType(of: bytes, contentType: response.headers["Content-Type"], fail: fail)
            return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest)
        }
    }

    /// The manifest's media type: the body's `mediaType`, else the Content-Type, else its shape.
    /// A body whose `mediaType` contradicts a manifest Content-Type is refused (distribution-spec).
    static func mediaType(of bytes: [UInt8], contentType: String?, fail: (String) -> RegistryError) throws -> MediaType {
        guard let object = JSONValue.parse(bytes)?.object else { throw fail("the manifest is not a JSON object") }
        let header = contentType.map { MediaType(rawValue: String($0.split(separator: ";")[0]).trimmed(" ")) }
        let known: Set<MediaType> = [.ociIndex, .ociManifest, .dockerManifest, .dockerManifestList]
        if let declared = object["mediaType"]?.string.map(MediaType.init(rawValue:)) {
            if let header, known.contains(header), header != declared {
                throw fail("the manifest says mediaType \(declared) but was served as \(header)")
            }
            return declared
        }
        if let header, known.contains(header) { return header }
        if object["schemaVersion"]?.number == 1 {
            throw fail("schema 1 manifests are not supported: re-push the image with a current client")
        }
        return object["manifests"] != nil ? .ociIndex : .ociManifest
    }

    /// Downloads a blob to `path`, verifying size and digest. A cut transfer is retried with
    /// `Range: bytes=N-` from the N bytes already on disk (a registry that ignores Range sends
    /// it all again). The download fails after `retries` failures in a row that brought no new
    /// byte (or 4 × (retries + 1) failures in all); a digest mismatch is retried once from
    /// scratch, then refused.
    func fetchBlob(_ descriptor: Descriptor, from repository: ImageReference, to path: String) async throws {
        let endpoint = await self.endpoint(repository.registry, push: false)
        let url = "\(endpoint.base)/v2/\(repository.repository)/blobs/\(descriptor.digest)"
        let retries = retries(push: false)
        let budget = 4 * (retries + 1)
        var attempts = 0
        var stuck = 0
        var mismatches = 0
        var had: Int64 = 0
        // The host's progress display, if it follows this blob (read here: the transfer runs
        // on a thread that does not see task-locals).
        let watch = TransferProgress.observer?.transferStarted(descriptor, direction: .download)
        defer { watch?.ended() }
        var progress: (@Sendable (Int64) -> Void)?
        if let watch { progress = { watch.moved($0) } }
        do {
            while true {
                let have = attempts > 0 ? Self.partialSize(path, of: descriptor) : 0
                if have > had { stuck = 0 }  // the last attempt brought bytes: not stuck
                had = have
                do {
                    try await fetchOnce(
                        descriptor, url: url, resumeFrom: have, to: path, endpoint: endpoint, repository: repository.repository,
                        progress: progress)
                    return
                } catch var e as RegistryError {
                    if !e.isTemporary && e.isDigestMismatch && mismatches == 0 {
                        // Once, a mismatch may be a flipped bit on the way: fetch it all again.
                        mismatches += 1
                        unlink(path)
                        had = 0
                        e.isTemporary = true
                    }
                    guard e.isTemporary, stuck < retries, attempts < budget else { throw e }
                    attempts += 1
                    stuck += 1
                    try await backoff(after: e, attempt: stuck, of: retries, "GET blob \(descriptor.digest)")
                }
            }
        } catch {
            unlink(path)
            throw error
        }
    }

    /// One GET of a blob into `path`, from byte `resumeFrom` on when it is > 0.
    private func fetchOnce(
        _ descriptor: Descriptor, url: String, resumeFrom have: Int64, to path: String, endpoint: Endpoint, repository repo: String,
        progress: (@Sendable (Int64) -> Void)?
    ) async throws {
        var request = HTTPRequest(method: .get, url: url)
        request.progress = progress
        if have > 0 {
            request.headers = ["Range: bytes=\(have)-"]
            log(.info, "oci: resuming the download of blob \(descriptor.digest) at byte \(have) of \(descriptor.size)")
        }
        request.sink = .file(path: path, limit: descriptor.size >= 0 ? descriptor.size : nil, resumeFrom: have)
        let (response, finalURL) = try await exchange(
            request, endpoint: endpoint, repository: repo, scopes: Self.scopes(repo, push: false), push: false, lane: .blob)
        if response.status == 416 && have > 0 {
            // Nothing after byte `have`: the registry's blob is shorter than its descriptor says.
            throw RegistryError(
                kind: .verification("blob \(descriptor.digest) is \(have) bytes, expected \(descriptor.size)"),
                statusCode: 416, method: "GET", url: URLRedaction.redact(finalURL), registry: endpoint.host, repository: repo,
                isTemporary: false)
        }
        guard response.status == 200 || (response.status == 206 && have > 0) else {
            throw RegistryError.status(response, method: .get, url: finalURL, context: await context(endpoint, repo, push: false))
        }
        try verify(response, descriptor, url: finalURL, endpoint: endpoint, repository: repo)
    }

    /// Bytes of `descriptor`'s blob an interrupted download left at `path` (0 for none, or
    /// when the file is not a proper prefix).
    static func partialSize(_ path: String, of descriptor: Descriptor) -> Int64 {
        var info = stat()
        guard descriptor.size > 0, stat(path, &info) == 0 else { return 0 }
        let size = Int64(info.st_size)
        return size > 0 && size < descriptor.size ? size : 0
    }

    private func verify(_ r: HTTPResponse, _ d: Descriptor, url: String, endpoint: Endpoint, repository: String) throws {
        func fail(_ message: String, temporary: Bool) -> RegistryError {
            RegistryError(
                kind: .verification(message), statusCode: r.status, method: "GET", url: URLRedaction.redact(url),
                registry: endpoint.host, repository: repository, isTemporary: temporary)
        }
        // A body of unknown length that ends short may be a cut transfer (worth a retry). One that
        // came whole with its Content-Length is what the registry holds: the descriptor is wrong
        // (a cut with a Content-Length is a transport error, retried before we get here).
        if d.size >= 0, r.fileSize != d.size {
            let cut = r.fileSize < d.size && r.headers["Content-Length"] == nil
            throw fail("blob \(d.digest) is \(r.fileSize) bytes, expected \(d.size)", temporary: cut)
        }
        guard d.digest.algorithm == .sha256 else {
            throw fail("cannot verify \(d.digest.algorithm.rawValue) digests: only sha256 blobs can be pulled", temporary: false)
        }
        guard let got = r.fileDigest, got == d.digest else {
            throw fail("blob digest mismatch: expected \(d.digest), got \(r.fileDigest?.description ?? "nothing")", temporary: false)
        }
    }
}
