// One libcurl easy handle, and the per-host pool that lets transfers reuse its connections.
import CCurl
import Synchronization

/// `curl_global_init` is not thread-safe: it runs once, lazily, through this global `let`.
public let curlGlobalInit: CURLcode = curl_global_init(KILN_CURL_GLOBAL_DEFAULT)

/// A libcurl easy handle. Options are reset before every transfer; the handle keeps its
/// connection cache, DNS cache and TLS sessions across transfers, which is why it is pooled.
public final class EasyHandle: @unchecked Sendable {
    // @unchecked: the pool hands a handle to one transfer at a time, and only that transfer's
    // thread touches it until it is returned.
    public let raw: UnsafeMutableRawPointer

    public init() throws(TransferFailure) {
        guard curlGlobalInit == CURLE_OK, let raw = curl_easy_init() else {
            throw TransferFailure(code: CURLE_FAILED_INIT, message: "libcurl could not be initialised")
        }
        self.raw = raw
    }

    deinit { curl_easy_cleanup(raw) }

    /// Checks a libcurl result and attaches the library's error text (the one place that does).
    public func check(_ code: CURLcode, _ what: @autoclosure () -> String) throws(TransferFailure) {
        guard code != CURLE_OK else { return }
        throw TransferFailure(code: code, message: "\(what()): \(String(cString: curl_easy_strerror(code)))")
    }

    public func set(_ option: CURLoption, _ value: Int) throws(TransferFailure) {
        try check(kiln_curl_setopt_long(raw, option, value), "setting curl option \(option.rawValue)")
    }

    public func set(_ option: CURLoption, _ value: String) throws(TransferFailure) {
        // libcurl copies string options (since 7.17), so the temporary C string may go away.
        try check(kiln_curl_setopt_str(raw, option, value), "setting curl option \(option.rawValue)")
    }

    public func set(_ option: CURLoption, offset value: Int64) throws(TransferFailure) {
        try check(kiln_curl_setopt_off(raw, option, curl_off_t(value)), "setting curl option \(option.rawValue)")
    }

    public func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(TransferFailure) {
        try check(kiln_curl_setopt_ptr(raw, option, value), "setting curl option \(option.rawValue)")
    }

    public func long(_ info: CURLINFO) -> Int {
        var value = 0
        _ = kiln_curl_getinfo_long(raw, info, &value)
        return value
    }

    public func offset(_ info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        _ = kiln_curl_getinfo_off(raw, info, &value)
        return Int64(value)
    }
}

/// Easy handles kept per registry host, so that consecutive requests reuse warm connections.
public final class HandlePool: Sendable {
    private let idle = Mutex<[String: [EasyHandle]]>([:])
    private let maxIdlePerHost: Int

    public init(maxIdlePerHost: Int) { self.maxIdlePerHost = maxIdlePerHost }

    public func checkOut(host: String) throws(TransferFailure) -> EasyHandle {
        if let handle = idle.withLock({ $0[host]?.popLast() }) { return handle }
        return try EasyHandle()
    }

    /// Returns a handle after a transfer. A handle whose transfer failed at the transport level
    /// is dropped instead: its connection may be half-closed.
    public func checkIn(_ handle: EasyHandle, host: String, healthy: Bool) {
        guard healthy else { return }
        idle.withLock { pool in
            if pool[host, default: []].count < maxIdlePerHost { pool[host, default: []].append(handle) }
        }
    }
}

/// A failure below HTTP: connection, TLS, time-out, local file I/O, cancellation.
public struct TransferFailure: Swift.Error, Sendable {
    public var code: CURLcode
    public var message: String
}
