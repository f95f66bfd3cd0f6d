// Every libarchive call is checked here, so a failure always carries libarchive's own message.
import CArchive

/// A libarchive call that failed, with the library's error string.
struct LibArchiveError: Error, CustomStringConvertible {
    let call: String
    let message: String
    var description: String { "\(call): \(message)" }
}

/// Throws when `result` is below `ARCHIVE_WARN` (warnings are not failures: libarchive emits
/// them for things like unknown pax keywords, which a reader must tolerate).
func checkArchive(_ result: Int32, _ archive: OpaquePointer?, _ call: String) throws(LibArchiveError) {
    if result >= ARCHIVE_WARN { return }
    throw LibArchiveError(call: call, message: archiveMessage(archive))
}

func archiveMessage(_ archive: OpaquePointer?) -> String {
    guard let archive, let s = archive_error_string(archive) else { return "unknown libarchive error" }
    return String(cString: s)
}
