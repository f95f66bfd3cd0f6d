import Diagnostics

/// Go-style durations as kaniko's flags take them (`336h`, `90m`, `1h30m`, `45s`).
enum Duration {
    static func parseSeconds(_ text: String, flag: String) throws -> Int64 {
        var total: Double = 0
        var number = ""
        var sawUnit = false
        var chars = Array(text)
        if let n = Int64(text) { return n }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isNumber || c == "." {
                number.append(c)
                i += 1
                continue
            }
            var unit = String(c)
            if c == "m", i + 1 < chars.count, chars[i + 1] == "s" {
                unit = "ms"
                i += 1
            }
            guard let v = Double(number) else { throw KilnError.usage("\(flag): invalid duration '\(text)'") }
            switch unit {
            case "h": total += v * 3600
            case "m": total += v * 60
            case "s": total += v
            case "ms": total += v / 1000
            default: throw KilnError.usage("\(flag): invalid duration '\(text)' (units: h, m, s)")
            }
            number = ""
            sawUnit = true
            i += 1
        }
        chars = []
        guard sawUnit, number.isEmpty else { throw KilnError.usage("\(flag): invalid duration '\(text)'") }
        return Int64(total)
    }
}
