/// Messages for errors from lower layers that are not `BuildError`s.
enum HostErrors {
    static func message(for error: Error) -> String? {
        // ArgumentParser's own errors are rendered by ArgumentParser (usage, help).
        if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { return nil }
        return String(describing: error)
    }
}
