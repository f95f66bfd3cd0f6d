import ArgumentParser

/// Logging and plugin discovery, shared by every command.
struct GlobalFlags: ParsableArguments {
    @Option(name: [.short, .customLong("verbosity")], help: "Log level: trace, debug, info, warn, error.")
    var verbosity = "info"
    @Option(name: .customLong("log-format"), help: "Log format: text, color or json.")
    var logFormat = "text"
    @Flag(name: .customLong("log-timestamp"), inversion: .prefixedNo, help: "Prefix log lines with a timestamp.")
    var logTimestamp = false
    @Option(name: .customLong("plugin-dir"), help: "Directory searched first for plugins; repeatable.")
    var pluginDirs: [String] = []
    @Option(name: .customLong("plugin-option"), help: ArgumentHelp("Setting passed to plugins; repeatable.", valueName: "key=value"))
    var pluginOptions: [String] = []
}
