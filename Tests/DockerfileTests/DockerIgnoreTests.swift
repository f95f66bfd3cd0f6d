import Testing

// .dockerignore semantics. Tables ported from moby/patternmatcher's patternmatcher_test.go
// (TestMatches "MatchesOrParentMatches", the multi-pattern cases, TestMatch from Go's
// filepath tests) and ignorefile_test.go; the skip and file-choice cases are kiln's.
@testable import Dockerfile

@Suite struct DockerIgnoreTests {
    /// (pattern, path, excluded) — `excluded` is "matches the path or one of its parents".
    @Test(arguments: [
        ("**", "file", true), ("**", "file/", true), ("**/", "file", true), ("**/", "file/", true),
        ("**", "dir/file", true), ("**/", "dir/file", true), ("**", "dir/file/", true), ("**/", "dir/file/", true),
        ("**/**", "dir/file", true), ("**/**", "dir/file/", true), ("dir/**", "dir/file", true), ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true), ("dir/**", "dir/dir2/file/", true), ("**/dir", "dir", true), ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true), ("**/dir2/*", "dir/dir2/file/", true), ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true), ("**file", "file", true), ("**file", "dir/file", true),
        ("**/file", "dir/file", true), ("**file", "dir/dir/file", true), ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true), ("**/file*", "dir/dir/file.txt", true), ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true), ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true), ("**/**/*.txt2", "dir/dir/file.txt", false), ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true), ("a**/*.txt", "a/file.txt", true), ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true), ("a/*.txt", "a/dir/file.txt", false), ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true), ("a[b-d]e", "ae", false), ("a[b-d]e", "ace", true), ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true), (".*", ".foo", true), (".*", "foo", false), ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true), ("abc.def", "abcZdef", false), ("abc?def", "abcZdef", true), ("abc?def", "abcdef", false),
        ("**/foo/bar", "foo/bar", true), ("**/foo/bar", "dir/foo/bar", true), ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false), ("abc/**", "abc/def", true), ("abc/**", "abc/def/ghi", true), ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false), ("a(b)c/def", "a(b)c/def", true), ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true), ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
        (#"a\\"#, #"a\"#, true), (#"a\*b"#, "a*b", true),
    ])
    func matchesOrParentMatches(pattern: String, path: String, excluded: Bool) throws {
        #expect(try DockerIgnore(patterns: [pattern]).excludes(path, isDirectory: false) == excluded)
    }

    /// Go's filepath.Match table, as patternmatcher's TestMatch runs it (nil = bad pattern).
    @Test(
        arguments: [
            ("abc", "abc", true), ("*", "abc", true), ("*c", "abc", true), ("a*", "a", true), ("a*", "abc", true),
            ("a*", "ab/c", true), ("a*/b", "abc/b", true), ("a*/b", "a/c/b", false), ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true), ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false), ("a*b?c*x", "abxbbxdbxebxczzx", true), ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true), ("ab[b-d]", "abc", true), ("ab[e-g]", "abc", false), ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false), ("ab[^e-g]", "abc", true), (#"a\*b"#, "a*b", true), (#"a\*b"#, "ab", false),
            ("a?b", "a☺b", true), ("a[^a]b", "a☺b", true), ("a???b", "a☺b", false), ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true), ("*[a-ζ]", "A", false), ("a?b", "a/b", false), ("a*b", "a/b", false),
            (#"[\]a]"#, "]", true), (#"[\-]"#, "-", true), (#"[x\-]"#, "x", true), (#"[x\-]"#, "-", true), (#"[x\-]"#, "z", false),
            (#"[\-x]"#, "x", true), (#"[\-x]"#, "-", true), (#"[\-x]"#, "a", false), ("*x", "xxx", true),
        ] as [(String, String, Bool)])
    func goFilepathMatch(pattern: String, path: String, matches: Bool) throws {
        #expect(try DockerIgnore(patterns: [pattern]).excludes(path, isDirectory: false) == matches)
    }

    @Test(arguments: ["[]a]", "[-]", "[x-]", "[-x]", #"\"#, "[a-b-c]", "[", "[^", "[^bc", "a[", "!"])
    func badPatternsAreRefused(pattern: String) {
        #expect(throws: DockerIgnore.Error.self) { try DockerIgnore(patterns: [pattern]) }
    }

    /// Order matters: the last matching pattern decides (patternmatcher multi-pattern cases).
    @Test(arguments: [
        (["**", "!util/docker/web"], "util/docker/web/foo", false),
        (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true),
        (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false),
        (["!fileutils.go", "*.go"], "fileutils.go", true),
        (["*.go", "!fileutils.go"], "fileutils.go", false),
        (["docs", "!docs/README.md"], "docs/README.md", false),
        (["docs/", "!docs/README.md"], "docs/README.md", false),
        (["docs/*", "!docs/README.md"], "docs/README.md", false),
        (["docs", "!docs/README.md"], "docs/other.md", true),
        (["*.go"], ".", false),
        // BuildKit's walk (fsutil, MatchesUsingParentResults): `!foo` was skipped at `foo`
        // (nothing excluded it yet), so it does not re-include `foo/bar` as a parent match.
        (["foo/*", "!foo"], "foo/bar", true),
        ([], "any/path", false),
    ])
    func orderAndExceptions(patterns: [String], path: String, excluded: Bool) throws {
        #expect(try DockerIgnore(patterns: patterns).excludes(path, isDirectory: false) == excluded)
    }

    @Test func fileTextIsCleanedLikeIgnorefileReadAll() throws {
        let text = "\u{FEFF}# comment\n\n  ./build/  \n/abs\n!  ./keep/me.txt\n node_modules/../vendor \n #not a comment\n"
        let ignore = try DockerIgnore(text: text)
        #expect(ignore.patterns == ["build", "abs", "!keep/me.txt", "vendor", "#not a comment"])
        #expect(ignore.excludes("build/x.o", isDirectory: false))
        #expect(ignore.excludes("abs", isDirectory: true))
        #expect(ignore.excludes("./vendor/a", isDirectory: false))
        #expect(!ignore.excludes("node_modules/a", isDirectory: false))
    }

    @Test(arguments: [
        (["build"], "build", true),
        (["build", "!build/keep.txt"], "build", false),
        (["build", "!**/keep.txt"], "build", false),
        (["build", "!*/keep.txt"], "build", false),
        (["build", "!other/keep.txt"], "build", true),
        (["build", "!build"], "build", false),
        (["**/*.o"], "src", false),
        (["src/gen", "!src/*.go"], "src/gen", true),
        (["src/gen", "!src/**/*.go"], "src/gen", false),
        (["build/**", "!build/a/b"], "build/a", false),
        (["build/**", "!build/a/b"], "build/c", true),
    ])
    func directorySkipping(patterns: [String], directory: String, skippable: Bool) throws {
        #expect(try DockerIgnore(patterns: patterns).canSkipDirectory(directory) == skippable)
    }

    @Test func dockerfileSpecificIgnoreFileWins() {
        let both: Set = ["ctx/docker/app.Dockerfile.dockerignore", "ctx/.dockerignore"]
        #expect(
            DockerIgnore.candidateFiles(dockerfilePath: "ctx/docker/app.Dockerfile", contextPath: "ctx/")
                == ["ctx/docker/app.Dockerfile.dockerignore", "ctx/.dockerignore"])
        #expect(
            DockerIgnore.chooseFile(dockerfilePath: "ctx/docker/app.Dockerfile", contextPath: "ctx", exists: both.contains)
                == "ctx/docker/app.Dockerfile.dockerignore")
        #expect(
            DockerIgnore.chooseFile(dockerfilePath: "ctx/Dockerfile", contextPath: "ctx", exists: both.contains)
                == "ctx/.dockerignore")
        #expect(DockerIgnore.chooseFile(dockerfilePath: "/x/Dockerfile", contextPath: "/y", exists: { _ in false }) == nil)
        #expect(
            DockerIgnore.candidateFiles(dockerfilePath: "Dockerfile", contextPath: ".") == ["./Dockerfile.dockerignore", "./.dockerignore"])
    }

    @Test(arguments: [("./a/", "a"), ("a//b/./c/", "a/b/c"), ("a/../b", "b"), ("../a", "../a"), ("/a/../..", "/"), ("", ".")])
    func cleanFollowsGoFilepathClean(path: String, cleaned: String) {
        #expect(DockerIgnore.clean(path) == cleaned)
    }
}
