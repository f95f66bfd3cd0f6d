import ManifestTool
import Testing

@Test func placeholder() {}
