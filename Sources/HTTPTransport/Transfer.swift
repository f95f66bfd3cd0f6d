// One HTTP exchange on an easy handle: options, callbacks, curl_easy_perform. Blocking: call it
// only from `BlockingThreads`.
import CCurl
import Glibc

/// Limits that replace a total time-out: a long blob upload may take an hour, a stalled one
/// should fail within `stallSeconds`.
public struct TransferLimits: Sendable {
    public var connectTimeoutSeconds = 30
    public var stallSeconds = 60
    public var stallBytesPerSecond = 1
    public var userAgent = "kiln"

    public init(connectTimeoutSeconds: Int = 30, stallSeconds: Int = 60, stallBytesPerSecond: Int = 1, userAgent: String = "kiln") {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.stallSeconds = stallSeconds
        self.stallBytesPerSecond = stallBytesPerSecond
        self.userAgent = userAgent
    }
}

public enum Transfer {
    public static func perform(
        _ request: HTTPRequest, on handle: EasyHandle, limits: TransferLimits, cancelled: CancelFlag
    ) throws(TransferFailure) -> HTTPResponse {
        let h = handle
        curl_easy_reset(h.raw)
        let state = TransferState(request: request, cancelled: cancelled, stallSeconds: limits.stallSeconds)
        if case .file(let path, _, _) = request.body {
            state.uploadFD = open(path, O_RDONLY | O_CLOEXEC)
            guard state.uploadFD >= 0 else {
                throw TransferFailure(code: CURLE_READ_ERROR, message: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
        }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        try h.set(CURLOPT_URL, request.url)
        try h.set(CURLOPT_NOSIGNAL, 1)
        try h.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try h.set(CURLOPT_FOLLOWLOCATION, 0)  // redirects are followed by the client, which decides about credentials
        try h.set(CURLOPT_CONNECTTIMEOUT, limits.connectTimeoutSeconds)
        try h.set(CURLOPT_LOW_SPEED_LIMIT, limits.stallBytesPerSecond)
        try h.set(CURLOPT_LOW_SPEED_TIME, limits.stallSeconds)
        try h.set(CURLOPT_TCP_KEEPALIVE, 1)
        try h.set(CURLOPT_USERAGENT, limits.userAgent)
        try h.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try h.set(CURLOPT_BUFFERSIZE, 256 << 10)
        try h.set(CURLOPT_HTTP_VERSION, request.forceHTTP11 ? Int(CURL_HTTP_VERSION_1_1) : Int(CURL_HTTP_VERSION_2TLS))
        try configureTLS(h, request.settings)

        var lines = request.headers
        if let auth = request.authorization { lines.append("Authorization: " + auth.value) }
        // No 100-continue round trip: bodies go to an endpoint that already accepted our auth.
        if request.method != .get && request.method != .head { lines.append("Expect:") }
        // libcurl labels every POST as a form; an upload-session POST has no body type at all.
        if request.method == .post && !lines.contains(where: { $0.lowercased().hasPrefix("content-type:") }) {
            lines.append("Content-Type:")
        }
        for line in lines { headerList = curl_slist_append(headerList, line) }
        try h.set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(headerList))

        switch request.method {
        case .get: break
        case .head: try h.set(CURLOPT_NOBODY, 1)
        case .delete: try h.set(CURLOPT_CUSTOMREQUEST, "DELETE")
        case .post:
            try h.set(CURLOPT_POST, 1)
            try h.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: request.body.length)
        case .put, .patch:
            try h.set(CURLOPT_UPLOAD, 1)
            try h.set(CURLOPT_INFILESIZE_LARGE, offset: request.body.length)
            try h.set(CURLOPT_UPLOAD_BUFFERSIZE, 1 << 20)
            if request.method == .patch { try h.set(CURLOPT_CUSTOMREQUEST, "PATCH") }
        }

        let opaque = Unmanaged.passUnretained(state).toOpaque()
        try h.check(kiln_curl_setopt_fn(h.raw, CURLOPT_HEADERFUNCTION, headerCallback), "setting header callback")
        try h.set(CURLOPT_HEADERDATA, pointer: opaque)
        try h.check(kiln_curl_setopt_fn(h.raw, CURLOPT_WRITEFUNCTION, writeCallback), "setting write callback")
        try h.set(CURLOPT_WRITEDATA, pointer: opaque)
        if request.method == .post || request.method == .put || request.method == .patch {
            try h.check(kiln_curl_setopt_fn(h.raw, CURLOPT_READFUNCTION, readCallback), "setting read callback")
            try h.set(CURLOPT_READDATA, pointer: opaque)
            try h.check(kiln_curl_setopt_seekfn(h.raw, seekCallback), "setting seek callback")
            try h.set(CURLOPT_SEEKDATA, pointer: opaque)
        }
        try h.set(CURLOPT_NOPROGRESS, 0)
        try h.check(kiln_curl_setopt_xferinfo(h.raw, progressCallback), "setting progress callback")
        try h.set(CURLOPT_XFERINFODATA, pointer: opaque)

        let code = withExtendedLifetime(state) { curl_easy_perform(h.raw) }
        if code != CURLE_OK {
            var message = String(cString: errorBuffer)
            if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
            if let local = state.localFailure { message = local }
            if cancelled.isCancelled { message = "cancelled" }
            if state.oversize { throw TransferFailure(code: CURLE_FILESIZE_EXCEEDED, message: message) }
            if state.stalled {
                throw TransferFailure(
                    code: CURLE_OPERATION_TIMEDOUT, message: "no data moved for \(limits.stallSeconds) s (stalled transfer)")
            }
            throw TransferFailure(code: code, message: message)
        }
        if state.isSuccess, let path = state.sinkPath, state.sinkFD < 0, !state.openSink(path) {
            throw TransferFailure(code: CURLE_WRITE_ERROR, message: state.localFailure ?? "cannot create \(path)")
        }
        var response = HTTPResponse(status: h.long(CURLINFO_RESPONSE_CODE), headers: state.headers, body: state.body)
        if state.isSuccess, state.sinkPath != nil {
            response.fileDigest = state.hasher.take()?.finalize()
            response.fileSize = state.fileSize
        }
        response.bytesSent = h.offset(CURLINFO_SIZE_UPLOAD_T)
        response.bytesReceived = h.offset(CURLINFO_SIZE_DOWNLOAD_T)
        response.seconds = Double(h.offset(CURLINFO_TOTAL_TIME_T)) / 1_000_000
        return response
    }

    private static func configureTLS(_ h: EasyHandle, _ settings: ConnectionSettings) throws(TransferFailure) {
        if !settings.verifyTLS {
            try h.set(CURLOPT_SSL_VERIFYPEER, 0)
            try h.set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        // CAINFO names this host's CA; the system CA directory (CAPATH) still applies, so the CA
        // is added for this host only, as kaniko's per-registry pool does, never process-wide.
        if let ca = settings.caFile {
            try h.set(CURLOPT_CAINFO, ca)
        } else if let bundle = settings.caBundle {
            try h.check(bundle.withUnsafeBytes { kiln_curl_setopt_cainfo_blob(h.raw, $0.baseAddress, $0.count) }, "setting the CA bundle")
        }
        if let client = settings.clientCertificate {
            try h.set(CURLOPT_SSLCERT, client.certificatePath)
            try h.set(CURLOPT_SSLKEY, client.keyPath)
        }
    }
}

// The C callbacks capture nothing; their state arrives as the opaque user pointer.

private let headerCallback: kiln_curl_io_fn = { data, size, count, user in
    let n = size * count
    guard let data, let user else { return n }
    let state = Unmanaged<TransferState>.fromOpaque(user).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: n)
    state.header(String(decoding: bytes, as: UTF8.self))
    return n
}

private let writeCallback: kiln_curl_io_fn = { data, size, count, user in
    let n = size * count
    guard let data, let user else { return 0 }
    let state = Unmanaged<TransferState>.fromOpaque(user).takeUnretainedValue()
    return state.receive(UnsafeRawBufferPointer(start: data, count: n)) ? n : 0
}

private let readCallback: kiln_curl_io_fn = { data, size, count, user in
    guard let data, let user else { return KILN_CURL_READFUNC_ABORT }
    let state = Unmanaged<TransferState>.fromOpaque(user).takeUnretainedValue()
    let buffer = UnsafeMutableRawBufferPointer(start: data, count: size * count)
    return state.send(into: buffer) ?? KILN_CURL_READFUNC_ABORT
}

// libcurl rewinds a body to re-send it on a fresh connection when a reused one died. For blob
// bodies (files) that is refused: the upload session may hold part of the data, so the client
// asks the registry where the session stands and resumes from there (CURLE_SEND_FAIL_REWIND, a
// temporary error).
private let seekCallback: kiln_curl_seek_fn = { user, offset, origin in
    guard let user, origin == SEEK_SET else { return 2 }  // CURL_SEEKFUNC_CANTSEEK
    let state = Unmanaged<TransferState>.fromOpaque(user).takeUnretainedValue()
    if state.uploadFD >= 0 { return 2 }
    guard offset >= 0, Int64(offset) <= state.uploadLength else { return 1 }  // CURL_SEEKFUNC_FAIL
    state.uploadPosition = Int64(offset)
    return 0
}

private let progressCallback: kiln_curl_xferinfo_fn = { user, _, downloaded, _, uploaded in
    guard let user else { return 0 }
    let state = Unmanaged<TransferState>.fromOpaque(user).takeUnretainedValue()
    return state.progress(downloaded: Int64(downloaded), uploaded: Int64(uploaded)) ? 0 : 1
}
