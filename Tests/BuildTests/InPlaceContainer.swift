// The throwaway container the in-place tests build in (never this machine's own /).
import Foundation
import TestSupport

/// Makes `tree/container`: kiln and its plugins in /kiln, busybox as /busybox/sh, `directories`
/// (mount points and workspace), /lib, /lib64, /bin and /sbin as links into /usr (which the
/// caller binds read-only from the host), a root-only passwd and /.dockerenv — what marks a Docker
/// container; without it kiln refuses to build in place (kaniko's rule). Returns its path.
func makeInPlaceContainer(in tree: TemporaryTree, directories: [String]) throws -> String {
    let kiln = try KilnCommand.binary()
    let products = (kiln as NSString).deletingLastPathComponent
    let root = tree.url("container")
    for d in ["kiln", "busybox", "usr", "opt/swift", "etc"] + directories {
        try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
    }
    for link in ["lib", "lib64", "bin", "sbin"] {
        try FileManager.default.createSymbolicLink(atPath: root + "/" + link, withDestinationPath: "usr/" + link)
    }
    try FileManager.default.copyItem(atPath: kiln, toPath: root + "/kiln/kiln")
    for so in try FileManager.default.contentsOfDirectory(atPath: products) where so.hasSuffix(".so") {
        try FileManager.default.copyItem(atPath: products + "/" + so, toPath: root + "/kiln/" + so)
    }
    try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root + "/busybox/sh")
    _ = try tree.write("container/etc/passwd", "root:x:0:0:root:/root:/busybox/sh\n")
    _ = try tree.write("container/.dockerenv", "")
    return root
}
