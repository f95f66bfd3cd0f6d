// Every libarchive call, in Archive and in ImageStore, is checked here, so a failure always
// carries libarchive's own message.
import CArchive

/// A libarchive call that failed, with the library's error string.
public struct LibArchiveError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let message: String
    public var description: String { "\(call): \(message)" }
}

/// Throws when `result` is below `ARCHIVE_WARN` (warnings are not failures: libarchive emits
/// them for things like unknown pax keywords, which a reader must tolerate).
public func checkArchive(_ result: Int32, _ archive: OpaquePointer?, _ call: String) throws(LibArchiveError) {
    if result >= ARCHIVE_WARN { return }
    throw LibArchiveError(call: call, message: archiveMessage(archive))
}

/// libarchive's message for the last failure on `archive`.
public func archiveMessage(_ archive: OpaquePointer?) -> String {
    guard let archive, let s = archive_error_string(archive) else { return "unknown libarchive error" }
    return String(cString: s)
}
