import CCurl
import Foundation
import PluginAPI
import PluginSupport

/// Downloads `ADD <url>` sources with libcurl: redirects followed, an HTTP error status fails,
/// the content is hashed while it streams to disk, and `Last-Modified` is reported.
enum URLDownloader {
    struct Download {
        var path: String
        var digest: Digest
        /// Seconds since the epoch from `Last-Modified`, when the server sent it.
        var lastModified: Int64?
    }

    enum Error: Swift.Error, CustomStringConvertible {
        case http(url: String, status: Int)
        case transfer(url: String, reason: String)
        case checksum(url: String, expected: String, actual: Digest)
        var description: String {
            switch self {
            case .http(let url, let status): return "ADD \(url): the server answered HTTP \(status)"
            case .transfer(let url, let reason): return "ADD \(url): download failed: \(reason)"
            case .checksum(let url, let expected, let actual):
                return "ADD \(url): checksum mismatch: expected \(expected), got \(actual)"
            }
        }
    }

    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// State the C write callback reaches through its user pointer.
    private final class Sink {
        let fd: Int32
        var hasher: SHA256Hasher? = SHA256Hasher()
        var failed = false
        init(fd: Int32) { self.fd = fd }
    }

    /// Downloads `url` to `path`. Blocking: call off the cooperative pool.
    static func fetch(_ url: String, to path: String, userAgent: String) throws -> Download {
        _ = globalInit
        guard let curl = curl_easy_init() else { throw Error.transfer(url: url, reason: "curl_easy_init failed") }
        defer { curl_easy_cleanup(curl) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Error.transfer(url: url, reason: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let sink = Sink(fd: fd)
        kiln_curl_setopt_str(curl, CURLOPT_URL, url)
        kiln_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1)
        kiln_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 10)
        kiln_curl_setopt_long(curl, CURLOPT_FILETIME, 1)
        kiln_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, 30)
        kiln_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
        kiln_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, 60)
        kiln_curl_setopt_str(curl, CURLOPT_USERAGENT, userAgent)
        kiln_curl_setopt_fn(curl, CURLOPT_WRITEFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
            let total = size * count
            let bytes = UnsafeRawBufferPointer(start: buffer, count: total)
            sink.hasher?.update(bytes)
            var offset = 0
            while offset < total {
                let n = write(sink.fd, buffer + offset, total - offset)
                if n <= 0 {
                    sink.failed = true
                    return 0
                }
                offset += n
            }
            return total
        }
        let code: CURLcode = withExtendedLifetime(sink) {
            kiln_curl_setopt_ptr(curl, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
            return curl_easy_perform(curl)
        }
        var status = 0
        kiln_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        if code != CURLE_OK {
            throw Error.transfer(url: url, reason: String(cString: curl_easy_strerror(code)))
        }
        if status >= 400 { throw Error.http(url: url, status: status) }
        var filetime: curl_off_t = -1
        kiln_curl_getinfo_off(curl, CURLINFO_FILETIME_T, &filetime)
        guard let digest = sink.hasher.take()?.finalize() else { throw Error.transfer(url: url, reason: "hash state lost") }
        return Download(path: path, digest: digest, lastModified: filetime >= 0 ? Int64(filetime) : nil)
    }
}
