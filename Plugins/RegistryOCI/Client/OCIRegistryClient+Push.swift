// Push: HEAD before upload, cross-repository mounts, the manifest last, the permission probe,
// and the per-repository summary line tests count uploads with.
import FoundationEssentials
import HTTPTransport
import PluginAPI
import PluginSupport
import Synchronization

/// Counts, per `registry/repository`, what `pushBlob` did since the last manifest push there.
final class PushLedger: Sendable {
    struct Counts: Sendable {
        var pushed = 0
        var bytes: Int64 = 0
        var skipped = 0
        var mounted = 0
    }
    private let counts = Mutex<[String: Counts]>([:])

    func record(_ repository: String, _ change: (inout Counts) -> Void) {
        counts.withLock { change(&$0[repository, default: Counts()]) }
    }

    /// Returns and resets the counts for `repository`.
    func take(_ repository: String) -> Counts {
        counts.withLock { $0.removeValue(forKey: repository) ?? Counts() }
    }
}

extension OCIRegistryClient {
    func blobExists(_ digest: Digest, in repository: ImageReference) async throws -> Bool {
        let endpoint = await self.endpoint(repository.registry, push: true)
        return try await retrying(retries(push: true), "HEAD blob \(digest)") { _ in
            try await head(digest, endpoint: endpoint, repository: repository.repository)
        }
    }

    func head(_ digest: Digest, endpoint: Endpoint, repository: String) async throws -> Bool {
        let url = "\(endpoint.base)/v2/\(repository)/blobs/\(digest)"
        let (response, finalURL) = try await exchange(
            HTTPRequest(method: .head, url: url), endpoint: endpoint, repository: repository,
            scopes: Self.scopes(repository, push: true), push: true, lane: .metadata)
        switch response.status {
        case 200: return true
        case 404: return false
        default:
            throw RegistryError.status(response, method: .head, url: finalURL, context: await context(endpoint, repository, push: true))
        }
    }

    func pushBlob(_ descriptor: Descriptor, from path: String, to repository: ImageReference, mountFrom: [ImageReference]) async throws {
        // Concurrent pushes of one blob to one repository (shared layers of several images or
        // destinations) share a single upload.
        let key = "\(repository.name)@\(descriptor.digest)"
        let (task, owner) = blobPushes.withLock { running -> (Task<Void, Swift.Error>, Bool) in
            if let existing = running[key] { return (existing, false) }
            let task = Task { try await self.uploadBlob(descriptor, from: path, to: repository, mountFrom: mountFrom) }
            running[key] = task
            return (task, true)
        }
        defer { if owner { blobPushes.withLock { _ = $0.removeValue(forKey: key) } } }
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            if owner { task.cancel() }
        }
    }

    /// HEAD, then a mount from one of `mountFrom`, else an upload session; each request has
    /// its own retries, and the upload resumes where the registry says it stands.
    private func uploadBlob(_ descriptor: Descriptor, from path: String, to repository: ImageReference, mountFrom: [ImageReference])
        async throws
    {
        let endpoint = await self.endpoint(repository.registry, push: true)
        let repo = repository.repository
        let key = repository.name
        let retries = retries(push: true)
        let digest = descriptor.digest
        if try await retrying(
            retries, "HEAD blob \(digest) in \(key)", { _ in try await head(digest, endpoint: endpoint, repository: repo) })
        {
            ledger.record(key) { $0.skipped += 1 }
            log(.debug, "oci: blob \(digest) already in \(key), skipped")
            return
        }
        // Mounts only work within one registry, and never from the repository itself.
        let sources = mountFrom.filter { $0.registry == repository.registry && $0.repository != repo }.map(\.repository)
        var session: String?
        for source in sources {
            if let open = session { await cancelUpload(open, endpoint: endpoint, repository: repo) }
            let start = try await retrying(retries, "mount of blob \(digest) from \(source) into \(key)") { _ in
                try await startUpload(endpoint: endpoint, repository: repo, mount: (digest, source))
            }
            switch start {
            case .mounted:
                ledger.record(key) { $0.mounted += 1 }
                log(.debug, "oci: blob \(digest) mounted from \(repository.registry)/\(source) into \(key)")
                return
            case .session(let location): session = location
            }
        }
        let location: String
        if let session {
            location = session
        } else {
            location = try await openSession(
                endpoint: endpoint, repository: repo, retries: retries, what: "upload of blob \(digest) to \(key)")
        }
        let watch = TransferProgress.observer?.transferStarted(descriptor, direction: .upload)
        defer { watch?.ended() }
        var progress: (@Sendable (Int64) -> Void)?
        if let watch { progress = { watch.moved($0) } }
        let pushed = try await resumableUpload(
            descriptor, from: path, session: location, endpoint: endpoint, repository: repo, retries: retries, progress: progress)
        guard pushed else {
            ledger.record(key) { $0.skipped += 1 }
            return
        }
        ledger.record(key) {
            $0.pushed += 1
            $0.bytes += descriptor.size
        }
        log(.debug, "oci: blob \(digest) uploaded to \(key) (\(descriptor.size) bytes)")
    }

    func pushManifest(_ bytes: [UInt8], mediaType: MediaType, to reference: ImageReference) async throws -> Digest {
        let endpoint = await self.endpoint(reference.registry, push: true)
        let repo = reference.repository
        let computed = Digest.sha256(of: bytes)
        let tagOrDigest = reference.tag ?? reference.digest?.description ?? computed.description
        let url = "\(endpoint.base)/v2/\(repo)/manifests/\(tagOrDigest)"
        let digest = try await retrying(retries(push: true), "PUT manifest \(reference.name):\(tagOrDigest)") { _ in
            var request = HTTPRequest(method: .put, url: url)
            request.headers = ["Content-Type: \(mediaType.rawValue)"]
            request.body = .bytes(bytes)
            let (response, finalURL) = try await exchange(
                request, endpoint: endpoint, repository: repo, scopes: Self.scopes(repo, push: true), push: true, lane: .metadata)
            let ctx = await context(endpoint, repo, push: true)
            guard response.status == 201 || response.status == 200 else {
                throw RegistryError.status(response, method: .put, url: finalURL, context: ctx)
            }
            if let header = response.headers["Docker-Content-Digest"], let stored = try? Digest(parsing: header),
                stored.algorithm == .sha256, stored != computed
            {
                throw RegistryError(
                    kind: .verification("the registry stored the manifest as \(stored), expected \(computed)"), statusCode: response.status,
                    method: "PUT", url: URLRedaction.redact(finalURL), registry: endpoint.host, repository: repo, isTemporary: false)
            }
            return computed
        }
        let c = ledger.take(reference.name)
        log(
            .debug,
            "oci: push summary for \(reference.name): pushed \(c.pushed) blobs (\(c.bytes) bytes), skipped \(c.skipped) existing, mounted \(c.mounted)"
        )
        log(.debug, "oci: transfer totals: \(transport.stats.summary)")
        return digest
    }

    func checkPushPermission(_ repository: ImageReference) async throws {
        let endpoint = await self.endpoint(repository.registry, push: true)
        let repo = repository.repository
        try await retrying(retries(push: true), "push permission check for \(repository.name)") { _ in
            if case .session(let location) = try await startUpload(endpoint: endpoint, repository: repo, mount: nil) {
                await cancelUpload(location, endpoint: endpoint, repository: repo)
            }
        }
        log(.debug, "oci: push permission for \(repository.name) confirmed")
    }
}
