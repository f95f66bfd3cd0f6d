// The ImageStore module: the image as it sits on disk.
//
// - `BlobStore`: content-addressed blobs (`blobs/<alg>/<hex>`), the build's working store and the
//   `blobs/` of an OCI layout.
// - `Image`: manifest + config + layers whose blobs live in a `BlobStore`.
// - `OCILayoutWriter` / `OCILayoutReader`: OCI image layout directories.
// - `DockerArchiveWriter`: `docker save`-style tarballs.
// - `ImageValidator`: checks that digests, sizes, diff IDs, history and config agree, for an
//   `Image`, an OCI layout or a docker-archive tarball.
// - `imageNameWithDigest` / `imageNameTagWithDigest`: the host's digest-file lines.
//
// Long operations (copying, hashing, decompressing layers) are `async` and run on PluginAPI's `runBlocking`
// threads, off Swift's cooperative pool.
