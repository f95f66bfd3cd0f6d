import ImageModel
import PluginAPI
import Testing

@Suite struct MediaTypeTests {
    @Test(arguments: [
        (MediaType.ociLayer, Compression?.some(.none), false),
        (.ociLayerGzip, .gzip, false),
        (.ociLayerZstd, .zstd, false),
        (.ociLayerNondistributableGzip, .gzip, false),
        (.dockerLayer, Compression.none, true),
        (.dockerLayerGzip, .gzip, true),
        (.dockerForeignLayerGzip, .gzip, true),
        (.ociConfig, nil, false),
        (.dockerConfig, nil, true),
        (.ociManifest, nil, false),
        ("application/vnd.example.artifact+json", nil, false),
    ])
    func layerCompressionAndFamily(type: MediaType, compression: Compression?, docker: Bool) {
        #expect(type.layerCompression == compression)
        #expect(type.isDocker == docker)
    }

    @Test(arguments: [
        (Compression.none, false, MediaType.ociLayer), (.none, true, .ociLayer),
        (.gzip, false, .ociLayerGzip), (.gzip, true, .dockerLayerGzip),
        (.zstd, false, .ociLayerZstd), (.zstd, true, .ociLayerZstd),
    ])
    func layerMediaTypeForCompression(compression: Compression, docker: Bool, expected: MediaType) {
        #expect(compression.layerMediaType(docker: docker) == expected)
        #expect(compression.layerMediaType(docker: docker).layerCompression == compression)
    }

    @Test func manifestKinds() {
        #expect(MediaType.ociIndex.isIndex && MediaType.dockerManifestList.isIndex)
        #expect(!MediaType.ociManifest.isIndex)
        #expect(MediaType.ociManifest.isImageManifest && MediaType.dockerManifest.isImageManifest)
        #expect(!MediaType.ociIndex.isImageManifest)
        #expect(MediaType.manifestAccept.first == .ociIndex)
    }

    @Test func probesTheTopLevelMediaType() {
        #expect(
            CanonicalJSON.mediaType(
                of: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#.utf8))
                == .ociIndex)
        #expect(CanonicalJSON.mediaType(of: Array(#"{"schemaVersion":2}"#.utf8)) == nil)
        #expect(CanonicalJSON.mediaType(of: Array("not json".utf8)) == nil)
    }
}
