// Range checks for the numbers instructions carry: EXPOSE ports and STOPSIGNAL signals.
// Checked when parsing (words without variables) and again after expansion, so a value that
// only exists once `$PORT` is known is still refused before it reaches the image config.

/// `EXPOSE` words: `port`, `port/proto`, `low-high[/proto]` (docker/go-connections `nat`:
/// `SplitProtoPort`, `ParsePortRange`, `validateProto`, as BuildKit's dispatcher runs them).
public enum PortSpec {
    /// Why `word` is not a port specification, `nil` when it is one. Ports are 0...65535 (Go
    /// `strconv.ParseUint(s, 10, 16)`: digits only, no sign); a range must not run backwards;
    /// the protocol is tcp, udp or sctp in any case, tcp when absent.
    public static func problem(with word: String) -> String? {
        let parts = containerPart(of: word).split(separator: "/", omittingEmptySubsequences: false)
        guard let ports = parts.first, !ports.isEmpty else { return "invalid port '\(word)': no port number" }
        if parts.count > 1, !parts[1].isEmpty, !["tcp", "udp", "sctp"].contains(parts[1].lowercased()) {
            return "invalid protocol '\(parts[1])' in '\(word)': use tcp, udp or sctp"
        }
        let range = ports.split(separator: "-", omittingEmptySubsequences: false)
        guard range.count <= 2 else { return "invalid port range '\(ports)': use LOW-HIGH" }
        var numbers: [Int] = []
        for text in range {
            guard !text.isEmpty, text.utf8.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text),
                number <= 65535
            else {
                let shown = text.isEmpty || range.count == 1 ? word : "\(text)' in '\(word)"
                return "invalid port '\(shown)': ports are whole numbers from 0 to 65535"
            }
            numbers.append(number)
        }
        if numbers.count == 2 && numbers[1] < numbers[0] {
            return "invalid port range '\(ports)': \(numbers[1]) is below \(numbers[0])"
        }
        return nil
    }
}

extension PortSpec {
    /// `ip:hostPort:containerPort/proto` and `hostPort:containerPort/proto` expose the container
    /// port, as `nat.ParsePortSpecs` does for BuildKit (which also warns: ExposeInvalidFormat).
    public static func containerPart(of word: String) -> Substring {
        guard let colon = word.lastIndex(of: ":") else { return Substring(word) }
        return word[word.index(after: colon)...]
    }
}

/// `STOPSIGNAL` values: a Linux signal name (`SIGTERM`, `term`, `SIGRTMIN+3`) or number.
public enum SignalName {
    /// moby's `signal.SignalMap` for Linux (`pkg/signal/signal_linux.go`), without `SIG`.
    static let names: Set<String> = {
        var names: Set<String> = [
            "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF",
            "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2",
            "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
        ]
        for n in 1...15 { names.insert("RTMIN+\(n)") }
        for n in 1...14 { names.insert("RTMAX-\(n)") }
        return names
    }()

    /// The highest Linux signal number (`SIGRTMAX`).
    public static let maximum = 64

    /// Why `text` is not a stop signal, `nil` when it is one. moby's `ParseSignal` takes any
    /// non-zero Go `int` (so `99999999999999999999`, which overflows, is already refused by
    /// BuildKit); kiln also refuses numbers outside 1...64, which no Linux kernel can deliver.
    public static func problem(with text: String) -> String? {
        if let first = text.first, first.isASCII, first.isNumber || first == "-" || first == "+" {
            guard let number = Int(text), (1...maximum).contains(number) else {
                return "invalid signal '\(text)': signal numbers are 1 to \(maximum)"
            }
            return nil
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        guard names.contains(name) else {
            return "invalid signal '\(text)': use a signal name like SIGTERM or a number from 1 to \(maximum)"
        }
        return nil
    }
}
