// HTTP dates (Last-Modified, Retry-After) without Foundation's DateFormatter.
import Glibc

public enum HTTPDate {
    /// An HTTP date in its preferred form, IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110
    /// § 5.6.7), as seconds since the epoch; nil for anything else.
    public static func seconds(_ text: String) -> Int64? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let days = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"]
        let words = text.split(separator: " ")
        guard words.count == 6, days.contains(String(words[0])), words[5] == "GMT", let day = Int32(words[1]),
            let month = months.firstIndex(of: String(words[2])), let year = Int32(words[3])
        else { return nil }
        let clock = words[4].split(separator: ":").compactMap { Int32($0) }
        guard clock.count == 3, (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]),
            (0...60).contains(clock[2])
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = Int32(month)
        parts.tm_mday = day
        parts.tm_hour = clock[0]
        parts.tm_min = clock[1]
        parts.tm_sec = clock[2]
        return Int64(timegm(&parts))
    }
}
