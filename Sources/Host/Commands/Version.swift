import ArgumentParser
import PluginAPI

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print kiln's version and plugin API version.")
    func run() throws {
        print("kiln \(KilnVersion.current) (plugin API \(kilnPluginAPIVersion))")
    }
}
