// Resuming an interrupted blob upload (distribution-spec "Resuming an upload"): after a
// transient failure, ask the session where it stands (GET → 204, `Range: 0-N`) and go on with
// PATCH from N+1, instead of sending the whole blob again.
import HTTPTransport
import PluginAPI
import PluginSupport

/// Where an upload session stands: its latest Location and the bytes the registry holds.
struct UploadPosition: Sendable, Equatable {
    var location: String
    var offset: Int64 = 0
}

extension OCIRegistryClient {
    /// What a session's status request found.
    enum UploadStatus: Equatable {
        /// The session exists and holds `offset` bytes; go on at `location`.
        case at(UploadPosition)
        /// The session is gone (finished, expired, or refused after a partial write).
        case gone
    }

    /// Opens an upload session (POST), retrying transient failures.
    func openSession(endpoint: Endpoint, repository: String, retries: Int, what: String) async throws -> String {
        let start = try await retrying(retries, "POST to start the \(what)") { _ in
            try await startUpload(endpoint: endpoint, repository: repository, mount: nil)
        }
        guard case .session(let location) = start else {
            throw RegistryError(
                kind: .protocolViolation("the registry answered a plain upload request as a mount"), registry: endpoint.host,
                repository: repository, isTemporary: false)
        }
        return location
    }

    /// Uploads `d` into the session at `session`; after a transient failure it asks the registry
    /// where the session stands and goes on from there (or in a fresh session when it lost
    /// this one). The budget is for a registry that stops answering or refuses this upload
    /// for ever, not for a flaky path that loses some requests: a failure whose status request
    /// the registry answers costs one of `4 × (retries + 1)` attempts for the blob, and the
    /// back-off grows with failures since the last acknowledged progress (1, 2, 4 s… capped at
    /// the `retries`-th step). When the status request itself fails after its own retries,
    /// the upload fails. Returns false when the blob turned out to be in the repository already
    /// (an earlier attempt finished although its answer was lost).
    func resumableUpload(
        _ d: Descriptor, from path: String, session: String, endpoint: Endpoint, repository: String, retries: Int,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws -> Bool {
        let what = "upload of blob \(d.digest) to \(endpoint.host)/\(repository)"
        var position = UploadPosition(location: session)
        let budget = 4 * (retries + 1)
        var attempts = 0
        var stuck = 0
        var acknowledged: Int64 = 0
        while true {
            do {
                try await upload(d, from: path, position: &position, endpoint: endpoint, repository: repository, progress: progress)
                return true
            } catch let e as RegistryError where e.isTemporary && attempts < budget && retries > 0 {
                attempts += 1
                stuck += 1
                try await backoff(after: e, attempt: attempts, of: budget, what, step: min(stuck, retries))
            } catch {
                // Not worth a retry: abandon the session (DELETE, best effort).
                await cancelUpload(position.location, endpoint: endpoint, repository: repository)
                throw error
            }
            let status = try await retrying(retries, "status request for the \(what)") { _ in
                try await uploadStatus(position.location, endpoint: endpoint, repository: repository)
            }
            switch status {
            case .at(let now) where now.offset <= d.size:
                log(.info, "oci: resuming the \(what) at byte \(now.offset) of \(d.size)")
                position = now
            case .at, .gone:
                let done = try await retrying(retries, "HEAD blob \(d.digest)") { _ in
                    try await head(d.digest, endpoint: endpoint, repository: repository)
                }
                if done { return false }
                await cancelUpload(position.location, endpoint: endpoint, repository: repository)
                log(.info, "oci: the registry lost the session of the \(what); starting a new one")
                position = UploadPosition(
                    location: try await openSession(endpoint: endpoint, repository: repository, retries: retries, what: what))
            }
            if position.offset > acknowledged {
                // Progress: the back-off starts again from its first step.
                acknowledged = position.offset
                stuck = 0
            }
        }
    }

    /// `GET <location>`: 204 with `Range: 0-<last>` while the session is open. `0-0` is read as
    /// nothing received (distribution answers it for an empty session); a registry that does
    /// hold one byte then refuses the next PATCH's Content-Range, and the upload starts over.
    func uploadStatus(_ location: String, endpoint: Endpoint, repository: String) async throws -> UploadStatus {
        let (response, finalURL) = try await exchange(
            HTTPRequest(method: .get, url: location), endpoint: endpoint, repository: repository,
            scopes: Self.scopes(repository, push: true), push: true, lane: .metadata)
        guard response.status == 204 || response.status == 200 else {
            let e = RegistryError.status(response, method: .get, url: finalURL, context: await context(endpoint, repository, push: true))
            // 404 (unknown or finished session) and 400 (distribution cancels a session whose
            // stored size disagrees with its state) both mean: start over.
            if e.isTemporary && response.status != 404 { throw e }
            return .gone
        }
        var next = UploadPosition(location: location)
        if response.headers["Location"] != nil {
            next.location = try self.location(of: response, requestURL: finalURL, endpoint: endpoint, repository: repository)
        }
        if let range = response.headers["Range"] {
            let parts = range.replacing("bytes=", with: "").split(separator: "-")
            guard parts.count == 2, let first = Int64(parts[0].trimmed(" ")), let last = Int64(parts[1].trimmed(" ")), first == 0,
                last >= 0
            else { return .gone }
            next.offset = last == 0 ? 0 : last + 1
        }
        return .at(next)
    }
}
