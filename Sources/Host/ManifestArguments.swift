/// manifest-tool puts its global flags before the command and `--type` between `push` and
/// `from-args` (`manifest-tool --username u push --type oci from-args …`). ArgumentParser reads
/// options only after the command that declares them, so those flags move behind the
/// subcommand: `kiln manifest push from-args --username u --type oci …`.
enum ManifestArguments {
    /// Options that take a separate value and may stand before the subcommand, so that a value
    /// spelled like a subcommand (`--password push`) is not taken for one.
    static let valueOptions: Set<String> = ["--username", "--password", "--docker-cfg", "--type", "--push-retry"]

    static func rewrite(_ args: [String]) -> [String] {
        guard args.first == "manifest" else { return args }
        var path = ["manifest"]
        var moved: [String] = []
        var i = 1
        while i < args.count {
            let arg = args[i]
            if arg == "push", path == ["manifest"] {
                path.append(arg)
            } else if (arg == "inspect" && path == ["manifest"])
                || (["from-args", "from-spec"].contains(arg) && path == ["manifest", "push"])
            {
                return path + [arg] + moved + args[(i + 1)...]
            } else if arg == "--" {
                return args  // not a shape this rewrite knows: ArgumentParser explains it
            } else {
                // An option, or the value of the option before it.
                moved.append(arg)
                if valueOptions.contains(arg), i + 1 < args.count {
                    moved.append(args[i + 1])
                    i += 1
                }
            }
            i += 1
        }
        return args
    }
}
