// Blob upload sessions: POST (optionally a mount), then a monolithic PUT, a streamed PATCH +
// PUT, or chunked PATCHes + PUT. Every Location is resolved against the URL that sent it and
// keeps its query; bodies stream from the file.
import Glibc
import HTTPTransport
import PluginAPI

extension OCIRegistryClient {
    enum UploadStart {
        case mounted
        case session(String)
    }

    /// `POST /v2/<repo>/blobs/uploads/` (with `?mount=&from=` for a mount): 201 = mounted,
    /// 202 = a session at the returned Location.
    func startUpload(endpoint: Endpoint, repository: String, mount: (Digest, String)?) async throws -> UploadStart {
        var url = "\(endpoint.base)/v2/\(repository)/blobs/uploads/"
        var scopes = Self.scopes(repository, push: true)
        if let (digest, source) = mount {
            url = URLs.appending(URLs.appending(url, "mount", digest.description), "from", source)
            scopes.append("repository:\(source):pull")
        }
        let (response, finalURL) = try await exchange(
            HTTPRequest(method: .post, url: url), endpoint: endpoint, repository: repository, scopes: scopes, push: true, lane: .blob)
        switch response.status {
        case 201 where mount != nil: return .mounted
        case 202:
            return .session(try location(of: response, requestURL: finalURL, endpoint: endpoint, repository: repository))
        default:
            throw RegistryError.status(response, method: .post, url: finalURL, context: await context(endpoint, repository, push: true))
        }
    }

    func location(of response: HTTPResponse, requestURL: String, endpoint: Endpoint, repository: String) throws -> String {
        guard let header = response.headers["Location"], let resolved = URLs.resolve(header, against: requestURL) else {
            throw RegistryError(
                kind: .protocolViolation("the registry answered \(response.status) without a usable Location header"),
                statusCode: response.status, url: URLRedaction.redact(requestURL), registry: endpoint.host,
                repository: repository, isTemporary: false)
        }
        return resolved
    }

    /// Sends the blob into an open session from `position.offset` on and finalises it with
    /// `PUT ?digest=`. `position` follows every chunk the registry acknowledged, so a caller
    /// can resume from there when a request fails.
    func upload(
        _ d: Descriptor, from path: String, position: inout UploadPosition, endpoint: Endpoint, repository: String,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws {
        let size = d.size
        var info = stat()
        guard stat(path, &info) == 0, Int64(info.st_size) == size else {
            let actual = stat(path, &info) == 0 ? "\(info.st_size) bytes" : "missing"
            throw RegistryError(
                kind: .local("\(path) is \(actual), but its descriptor says \(size) bytes"),
                registry: endpoint.host, repository: repository, isTemporary: false)
        }
        var finalBody = RequestBody.none
        if size <= tuning.monolithicLimit && position.offset == 0 {
            finalBody = .file(path: path, offset: 0, length: size)
        } else {
            let chunk = tuning.chunkSize > 0 ? tuning.chunkSize : size
            while position.offset < size {
                let offset = position.offset
                let length = min(chunk, size - offset)
                var request = HTTPRequest(method: .patch, url: position.location, body: .file(path: path, offset: offset, length: length))
                request.headers = ["Content-Type: application/octet-stream"]
                // A resumed stream says where it starts (distribution-spec "Resuming an upload").
                if tuning.chunkSize > 0 || offset > 0 { request.headers.append("Content-Range: \(offset)-\(offset + length - 1)") }
                request.forceHTTP11 = true
                request.progress = progress
                position.location = try await send(request, expecting: 202, endpoint: endpoint, repository: repository)
                position.offset = offset + length
            }
        }
        var put = HTTPRequest(method: .put, url: URLs.appending(position.location, "digest", d.digest.description), body: finalBody)
        put.headers = ["Content-Type: application/octet-stream"]
        put.forceHTTP11 = true
        put.progress = progress
        _ = try await send(put, expecting: 201, endpoint: endpoint, repository: repository)
    }

    /// Sends one upload request; returns the next Location (the request's URL when absent).
    func send(_ request: HTTPRequest, expecting status: Int, endpoint: Endpoint, repository: String) async throws -> String {
        let (response, finalURL) = try await exchange(
            request, endpoint: endpoint, repository: repository, scopes: Self.scopes(repository, push: true), push: true, lane: .blob)
        guard response.status == status || (status == 201 && response.status == 204) else {
            throw RegistryError.status(
                response, method: request.method, url: finalURL, context: await context(endpoint, repository, push: true))
        }
        guard response.headers["Location"] != nil else { return finalURL }
        return try location(of: response, requestURL: finalURL, endpoint: endpoint, repository: repository)
    }

    /// Abandons an upload session (DELETE; failures ignored: the registry expires sessions).
    func cancelUpload(_ location: String, endpoint: Endpoint, repository: String) async {
        _ = try? await exchange(
            HTTPRequest(method: .delete, url: location), endpoint: endpoint, repository: repository,
            scopes: Self.scopes(repository, push: true), push: true, lane: .metadata)
    }
}
