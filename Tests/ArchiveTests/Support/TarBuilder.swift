// Tars made with Python's tarfile module, independent of libarchive, so the extractor is fed
// exactly the bytes a hostile or foreign producer would write.
import Foundation

struct TarEntry: Encodable {
    enum Kind: String, Encodable { case file, dir, symlink, hardlink, fifo, chr }
    var name: String
    var kind: Kind = .file
    var data: String = ""
    var linkname: String = ""
    var mode: Int = 0o644
    var uid = 0
    var gid = 0
    var mtime = 1_000_000_000
    /// For `.file`: write this many zero bytes instead of `data` (decompression bombs).
    var zeros: Int = 0
    var xattrs: [String: String] = [:]

    static func file(_ name: String, _ data: String = "x", mode: Int = 0o644, uid: Int = 0, gid: Int = 0) -> TarEntry {
        TarEntry(name: name, data: data, mode: mode, uid: uid, gid: gid)
    }
    static func dir(_ name: String, mode: Int = 0o755, mtime: Int = 1_000_000_000) -> TarEntry {
        TarEntry(name: name, kind: .dir, mode: mode, mtime: mtime)
    }
    static func symlink(_ name: String, to target: String) -> TarEntry {
        TarEntry(name: name, kind: .symlink, linkname: target, mode: 0o777)
    }
    static func hardlink(_ name: String, to target: String) -> TarEntry {
        TarEntry(name: name, kind: .hardlink, linkname: target)
    }
}

enum TarBuilder {
    /// Writes `entries` as a PAX tar to `path`; compression is "", "gz", "bz2", "xz" or "zst".
    static func write(_ entries: [TarEntry], to path: String, compression: String = "") throws {
        let spec = try JSONEncoder().encode(entries)
        let code = """
            import io, json, sys, tarfile
            spec = json.load(sys.stdin)
            path, comp = sys.argv[1], sys.argv[2]
            mode = 'w:' + comp if comp in ('gz', 'bz2', 'xz') else 'w'
            target = path + '.tar' if comp == 'zst' else path
            class Zeros(io.RawIOBase):
                def __init__(self, n): self.left = n
                def readable(self): return True
                def readinto(self, b):
                    n = min(len(b), self.left); b[:n] = bytes(n); self.left -= n; return n
            with tarfile.open(target, mode, format=tarfile.PAX_FORMAT) as t:
                for e in spec:
                    i = tarfile.TarInfo(e['name'])
                    i.mode, i.uid, i.gid, i.mtime = e['mode'], e['uid'], e['gid'], e['mtime']
                    i.pax_headers = {'SCHILY.xattr.' + k: v for k, v in e['xattrs'].items()}
                    k = e['kind']
                    body = None
                    if k == 'file':
                        if e['zeros']:
                            i.size = e['zeros']; body = io.BufferedReader(Zeros(e['zeros']), 1 << 20)
                        else:
                            data = e['data'].encode(); i.size = len(data); body = io.BytesIO(data)
                    elif k == 'dir': i.type = tarfile.DIRTYPE
                    elif k == 'symlink': i.type = tarfile.SYMTYPE; i.linkname = e['linkname']
                    elif k == 'hardlink': i.type = tarfile.LNKTYPE; i.linkname = e['linkname']
                    elif k == 'fifo': i.type = tarfile.FIFOTYPE
                    elif k == 'chr': i.type = tarfile.CHRTYPE; i.devmajor, i.devminor = 1, 3
                    t.addfile(i, body)
            """
        try run(["python3", "-c", code, path, compression], stdin: spec)
        if compression == "zst" {
            try run(["zstd", "-q", "-f", "--rm", path + ".tar", "-o", path])
        }
    }
}
