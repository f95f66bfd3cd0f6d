// PluginSupport's replacements for the Foundation APIs kiln gave up with Foundation itself
// (JSONSerialization, String(format:), percent decoding, Thread/NSCondition).
import Foundation
import PluginSupport
import Testing

@Suite("PluginSupport helpers")
struct SupportHelpersTests {
    @Test func jsonValueReadsAnyDocumentAndWritesItSorted() throws {
        let text = #"{"b": [1, 2.5, "x/y", null, true], "a": {"z": "quote \" and \n"}, "n": 1e300}"#
        let value = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(value["b"]?.array?.count == 5)
        #expect(value["n"]?.number == 1e300)
        #expect(value["a"]?["z"]?.string == "quote \" and \n")
        #expect(value.serialized == #"{"a":{"z":"quote \" and \n"},"b":[1,2.5,"x/y",null,true],"n":1e+300}"#)
        // What it writes, Foundation reads back as the same document.
        let reread = try JSONSerialization.jsonObject(with: Data(value.serialized.utf8)) as? [String: Any]
        #expect((reread?["b"] as? [Any])?.count == 5)
        #expect(JSONValue.parse(Array("{not json".utf8)) == nil)
        #expect(JSONValue.object(["c": "\u{1}"]).serialized == #"{"c":"\u0001"}"#)
    }

    @Test func cFormatFormatsAsPrintfDoes() {
        #expect(String(cFormat: "%.3f", 1.23456) == "1.235")
        #expect(String(cFormat: ".%03dZ", 7) == ".007Z")
        let long = String(cFormat: "%0200d", 5)
        #expect(long.count == 200 && long.hasSuffix("5"))
    }

    @Test func percentDecoding() {
        #expect("a%20b%2Fc".percentDecoded == "a b/c")
        #expect("%E2%9C%93".percentDecoded == "✓")
        #expect("bad%2".percentDecoded == nil)
        #expect("bad%zz".percentDecoded == nil)
        #expect("%FF".percentDecoded == nil)
        #expect("  x \t".trimmed() == "x")
        #expect("ab".padded(to: 4) == "ab  ")
    }

    @Test func threadsRunAndConditionsWake() {
        let condition = Condition()
        final class Box: @unchecked Sendable { var value = 0 }
        let box = Box()
        #expect(
            startThread(named: "kiln-test") {
                condition.withLock {
                    box.value = 42
                    condition.signal()
                }
            })
        condition.lock()
        while box.value == 0 { #expect(condition.wait(seconds: 10)) }
        condition.unlock()
        #expect(box.value == 42)
        // A timed wait nobody signals runs out.
        condition.lock()
        let start = ContinuousClock.now
        #expect(!condition.wait(seconds: 0.05))
        condition.unlock()
        #expect(ContinuousClock.now - start >= .milliseconds(40))
    }
}
