/// Go's `filepath.Match` for one path component: `*`, `?`, `[...]` classes with ranges and
/// `^`/`!` negation, `\` escapes. COPY/ADD sources use it per component.
enum Glob {
    static func hasMeta(_ pattern: String) -> Bool { pattern.contains { "*?[\\".contains($0) } }

    static func match(_ pattern: String, _ name: String) -> Bool {
        matchFrom(Array(pattern), 0, Array(name), 0)
    }

    private static func matchFrom(_ p: [Character], _ pi: Int, _ s: [Character], _ si: Int) -> Bool {
        var pi = pi
        var si = si
        while pi < p.count {
            switch p[pi] {
            case "*":
                // Collapse runs of '*' then try every split.
                while pi < p.count && p[pi] == "*" { pi += 1 }
                if pi == p.count { return true }
                var k = si
                while k <= s.count {
                    if matchFrom(p, pi, s, k) { return true }
                    k += 1
                }
                return false
            case "?":
                guard si < s.count else { return false }
                pi += 1
                si += 1
            case "[":
                guard si < s.count else { return false }
                guard let (matched, next) = matchClass(p, pi, s[si]) else { return false }
                if !matched { return false }
                pi = next
                si += 1
            case "\\":
                pi += 1
                guard pi < p.count, si < s.count, p[pi] == s[si] else { return false }
                pi += 1
                si += 1
            default:
                guard si < s.count, p[pi] == s[si] else { return false }
                pi += 1
                si += 1
            }
        }
        return si == s.count
    }

    /// Matches `c` against the class starting at `p[start] == "["`; returns the result and the
    /// index after `]`, or nil for a malformed class (which matches nothing, as in Go).
    private static func matchClass(_ p: [Character], _ start: Int, _ c: Character) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.count, p[i] == "^" || p[i] == "!" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < p.count {
            if p[i] == "]" && !first { return (matched != negate, i + 1) }
            first = false
            var lo = p[i]
            if lo == "\\" {
                i += 1
                guard i < p.count else { return nil }
                lo = p[i]
            }
            var hi = lo
            if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                hi = p[i + 2]
                if hi == "\\" {
                    guard i + 3 < p.count else { return nil }
                    hi = p[i + 3]
                    i += 1
                }
                i += 2
            }
            if lo <= c && c <= hi { matched = true }
            i += 1
        }
        return nil
    }
}
