// A cross-repository mount on its own (`kiln manifest` merging images of other repositories).
import HTTPTransport
import PluginAPI

extension OCIRegistryClient {
    func mountBlob(_ digest: Digest, from source: ImageReference, to repository: ImageReference) async throws -> Bool {
        guard source.registry == repository.registry, source.repository != repository.repository else { return false }
        let endpoint = await self.endpoint(repository.registry, push: true)
        switch try await startUpload(endpoint: endpoint, repository: repository.repository, mount: (digest, source.repository)) {
        case .mounted:
            ledger.record(repository.name) { $0.mounted += 1 }
            log(.debug, "oci: blob \(digest) mounted from \(source.registry)/\(source.repository) into \(repository.name)")
            return true
        case .session(let location):
            // The registry opened an ordinary upload instead: nothing to upload here, so close it.
            await cancelUpload(location, endpoint: endpoint, repository: repository.repository)
            return false
        }
    }
}
