import Archive

/// A `tar://` build context: unpacked with the same containment as image layers.
enum ContextArchive {
    static func unpack(_ tarPath: String, into directory: String) throws {
        try LayerExtractor.extract(tar: tarPath, into: directory, at: "")
    }
}
