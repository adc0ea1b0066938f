import BerthEngine
import Foundation
import Testing

@Suite("JSONValue parsing")
struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let text = #" { "a": [1, -2, 3.5, 1e3, -0, 9223372036854775807, 9223372036854775808], "b": {"c": null, "d": true, "e": false},"# +
            #" "s": "q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00", "empty": {}, "none": [] } "#
        let value = try JSONValue(parsing: Array(text.utf8))
        #expect(value["a"] == .array([.int(1), .int(-2), .double(3.5), .int(1000), .int(0), .int(Int64.max), .double(9223372036854775808)]))
        #expect(value["b"] == .object(["c": .null, "d": .bool(true), "e": .bool(false)]))
        #expect(value["s"] == .string("q\"b\\s/n\nt\tué😀"))
        #expect(value["empty"] == .object([:]) && value["none"] == .array([]))
    }

    @Test func agreesWithFoundationOnADockerCreateBody() throws {
        let body = #"{"Hostname":"","Env":["A=1","B=x y"],"Cmd":["sh","-c","echo \"hi\""],"Image":"busybox","Labels":{"k":"v"},"#
            + #""HostConfig":{"Memory":6291456,"NanoCpus":1500000000,"LogConfig":{"Type":"json-file","Config":{}},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"CpuShares":0.0}}"#
        let ours = try JSONValue(parsing: Array(body.utf8))
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))
        #expect(ours == theirs)
    }

    @Test func keepsTheLastOfDuplicateKeysAndReplacesInvalidUTF8() throws {
        #expect(try JSONValue(parsing: Array(#"{"a":1,"a":2}"#.utf8)) == .object(["a": .int(2)]))
        #expect(try JSONValue(parsing: [0x22, 0x61, 0xFF, 0x22]) == .string("a\u{FFFD}"))
        #expect(try JSONValue(parsing: Array(#""\ud800x""#.utf8)) == .string("\u{FFFD}x"))
    }

    @Test(arguments: ["", " ", "{", "[1,", "[1 2]", #"{"a" 1}"#, #"{a:1}"#, "tru", "nul", "01", "1.", "-", "1e", #""abc"#,
                      "\"a\u{01}\"", #""\x""#, #""\u12""#, "[1]x", "{}{}", "NaN", "'a'"])
    func refusesMalformedText(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue(parsing: Array(text.utf8)) }
    }

    @Test func refusesNestingThatWouldExhaustTheStack() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue(parsing: Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONValue(parsing: Array(fine.utf8))
    }
}
