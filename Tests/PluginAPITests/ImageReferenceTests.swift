// Tables ported from distribution/reference `normalize_test.go` (TestValidateReferenceName,
// TestValidateRemoteName, TestParseRepositoryInfo, TestNormalizedSplitHostname,
// TestParseAnyReference) and `reference_test.go` (TestReferenceParse), read through kiln's
// normalising parser: a name without a registry is on docker.io, and a one-component docker.io
// path gets `library/`.
import PluginAPI
import Testing

@Suite struct ImageReferenceTests {
    static let hex64 = String(repeating: "f", count: 64)

    /// Input → (registry, repository, tag, digest).
    static let valid: [(String, String, String, String?, String?)] = [
        ("test_com", "docker.io", "library/test_com", nil, nil),
        ("test.com:tag", "docker.io", "library/test.com", "tag", nil),
        ("test.com:5000", "docker.io", "library/test.com", "5000", nil),
        ("test.com/repo:tag", "test.com", "repo", "tag", nil),
        ("test:5000/repo", "test:5000", "repo", nil, nil),
        ("test:5000/repo:tag", "test:5000", "repo", "tag", nil),
        ("test:5000/repo@sha256:\(hex64)", "test:5000", "repo", nil, "sha256:\(hex64)"),
        ("test:5000/repo:tag@sha256:\(hex64)", "test:5000", "repo", "tag", "sha256:\(hex64)"),
        ("lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", nil),
        ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", nil, nil),
        ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", nil),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
            "test.example.com", nil
        ),
        ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", nil),
        (
            "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + String(repeating: "f", count: 128), "xn--7o8h.com", "myimage",
            "xn--7o8h.com", "sha512:" + String(repeating: "f", count: 128)
        ),
        ("foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", nil),
        ("foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", nil),
        ("192.168.1.1", "docker.io", "library/192.168.1.1", nil, nil),
        ("192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", nil),
        ("192.168.1.1/repo", "192.168.1.1", "repo", nil, nil),
        ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", nil),
        ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", nil, nil),
        ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", nil),
        ("[2001:db8::1]:5000/repo:tag@sha256:\(hex64)", "[2001:db8::1]:5000", "repo", "tag", "sha256:\(hex64)"),
        ("[::1]:5000/repo", "[::1]:5000", "repo", nil, nil),
        // normalize_test.go TestNormalizedSplitHostname / TestParseRepositoryInfo
        ("test_com/foo", "docker.io", "test_com/foo", nil, nil),
        ("docker/migrator", "docker.io", "docker/migrator", nil, nil),
        ("test-com:8080/foo", "test-com:8080", "foo", nil, nil),
        ("foo", "docker.io", "library/foo", nil, nil),
        ("docker.io/foo", "docker.io", "library/foo", nil, nil),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", nil, nil),
        ("index.docker.io/fooo/bar", "docker.io", "fooo/bar", nil, nil),
        ("127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", nil, nil),
        ("Foo/bar", "Foo", "bar", nil, nil),
        ("localhost/app", "localhost", "app", nil, nil),
        ("docker---rules/docker", "docker.io", "docker---rules/docker", nil, nil),
        ("dock__er/docker", "docker.io", "dock__er/docker", nil, nil),
        ("d/docker", "docker.io", "d/docker", nil, nil),
        (
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker.io",
            "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", nil, nil
        ),
        (
            "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "docker.io",
            "library/busybox",
            "latest", "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
        ),
    ]

    @Test(arguments: valid)
    func parses(input: String, registry: String, repository: String, tag: String?, digest: String?) throws {
        let ref = try ImageReference(parsing: input)
        #expect(ref.registry == registry)
        #expect(ref.repository == repository)
        #expect(ref.tag == tag)
        #expect(ref.digest?.description == digest)
        // The printed form parses back to the same reference.
        #expect(try ImageReference(parsing: ref.description) == ref)
    }

    static let invalid: [String] = [
        "", ":justtag", "@sha256:\(hex64)", "repo@sha256:ffffffffffffffffffffffffffffffffff",
        "validname@invaliddigest:\(hex64)", "Uppercase:tag", "test:5000/Uppercase/lowercase:tag",
        "aa/asdf$$^/aa", "[2001:db8::1]", "[2001:db8::1]:5000", "[2001:db8::1]:tag", "[fe80::1%eth0]:5000/repo",
        "[fe80::1%@invalidzone]:5000/repo",
        // normalize_test.go
        "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker", "-docker.io/docker/docker",
        "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000",
        "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker-/docker", "-docker-/docker",
        "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker", "dock-.er/docker", "docker/",
        String(repeating: "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_", count: 4)
            + "x/docker",
        // reference_test.go: 128 components is over the 255-character limit.
        String(repeating: "a/", count: 128) + "a:tag",
        // Tags: at most 128 characters, starting with a word character.
        "repo:" + String(repeating: "t", count: 129), "repo:-tag", "repo:",
    ]

    @Test(arguments: invalid)
    func rejects(input: String) {
        #expect(throws: ImageReference.ParseError.self) { try ImageReference(parsing: input) }
    }

    @Test(arguments: [
        ("docker.io/library/debian:12", "debian:12"),
        ("docker.io/fooo/bar", "fooo/bar"),
        ("docker.io/library/foo/bar", "library/foo/bar"),
        ("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase"),
        (
            "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
            "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
        ),
    ])
    func familiarForm(input: String, familiar: String) throws {
        #expect(try ImageReference(parsing: input).familiarDescription == familiar)
    }

    @Test func manifestReferencePrefersTheDigest() throws {
        #expect(try ImageReference(parsing: "a/b").manifestReference == "latest")
        #expect(try ImageReference(parsing: "a/b:v1").manifestReference == "v1")
        #expect(try ImageReference(parsing: "a/b:v1@sha256:\(Self.hex64)").manifestReference == "sha256:\(Self.hex64)")
        #expect(try ImageReference(parsing: "a/b:v1").with(tag: "v2").description == "docker.io/a/b:v2")
    }

    @Test func errorMessagesSayWhatIsWrong() {
        let upper = #expect(throws: ImageReference.ParseError.self) { try ImageReference(parsing: "docker/Docker") }
        #expect(upper?.description.contains("lower-case") == true)
        let separators = #expect(throws: ImageReference.ParseError.self) { try ImageReference(parsing: "dock..er/x") }
        #expect(separators?.description.contains("dock..er") == true)
        let registry = #expect(throws: ImageReference.ParseError.self) { try ImageReference(parsing: "-docker.io/a/b") }
        #expect(registry?.description.contains("registry") == true)
    }
}
