import ConnwatchCore
import Foundation
import Testing

@Suite struct CompactJSONTests {
    @Test func roundTripsAndIsDeterministic() throws {
        let value: JSONValue = [
            "b": [1, .double(2.5), "x", true, .null, ["nested": "quote \" backslash \\ newline \n tab \t"]],
            "a": "unicode ü 𝄞 \u{01}", "c": .double(-1.25e-7), "d": .int(-9_223_372_036_854_775_807),
        ]
        let text = CompactJSON.string(value)
        #expect(text.hasPrefix(#"{"a":"unicode ü 𝄞 \u0001","b":[1,2.5,"x",true,null,"#))
        #expect(try CompactJSON.parse(text) == value)
        #expect(try CompactJSON.parse(CompactJSON.bytes(value)) == value)
        #expect(try CompactJSON.parse(Data(text.utf8)) == value)
        // Foundation agrees on the encoding, and our parser reads Foundation's escapes.
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
        #expect(try CompactJSON.parse(#"{"s":"\ud834\udd1e \u00fc \/"}"#) == ["s": "𝄞 ü /"])
        #expect(CompactJSON.string(["z": "1", "a": "2"] as [String: String]) == #"{"a":"2","z":"1"}"#)
        #expect(CompactJSON.string(.double(.nan)) == "null")
    }

    /// RFC 8259 strictly: what JSONSerialization refuses, this refuses too — and trailing
    /// commas, which JSONSerialization lets through.
    @Test func refusesWhatIsNotJSON() {
        for text in ["[1,]", #"{"a":1,}"#] {
            #expect(throws: CompactJSON.ParseError.self, "\(text)") { try CompactJSON.parse(text) }
        }
        let bad: [String] = [
            "", " ", "{", #"{"a":}"#, "tru", #""\x""#, "{} x", "01", "-", "1.", ".5", "1e",
            "1e+", "+1", "NaN", "Infinity", "1e400", #""\u12"#, #""\ud834x""#, "\"a\u{01}b\"", "\"tab\there\"",
            "[1 2]", #"{"a" 1}"#, #"{1:2}"#, "'a'",
        ]
        for text in bad {
            #expect(throws: CompactJSON.ParseError.self, "\(text)") { try CompactJSON.parse(text) }
            #expect(
                (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) == nil,
                "Foundation accepts \(text)")
        }
        // Invalid UTF-8 inside a string (a lone continuation byte, a truncated sequence).
        for bytes: [UInt8] in [[0x22, 0x80, 0x22], [0x22, 0x61, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22]] {
            #expect(throws: CompactJSON.ParseError.self) { try CompactJSON.parse(bytes) }
        }
    }

    @Test func boundsNesting() throws {
        let deep = String(repeating: "[", count: CompactJSON.maxDepth) + String(repeating: "]", count: CompactJSON.maxDepth)
        #expect(throws: Never.self) { try CompactJSON.parse(deep) }
        let tooDeep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: CompactJSON.ParseError.self) { try CompactJSON.parse(tooDeep) }
    }

    @Test func numbersAreIntegersWhenTheyFit() throws {
        #expect(try CompactJSON.parse("0") == .int(0))
        #expect(try CompactJSON.parse("-0") == .int(0))
        #expect(try CompactJSON.parse("3599") == .int(3599))
        #expect(try CompactJSON.parse("9223372036854775807") == .int(.max))
        #expect(try CompactJSON.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try CompactJSON.parse("1.5E+2") == .double(150))
        #expect(try CompactJSON.parse("2e-3") == .double(0.002))
        #expect(try CompactJSON.parse(" \r\n\t[ ] ") == .array([]))
    }

    /// Random documents written by JSONSerialization (its own escaping and number forms)
    /// read back equal to Foundation's own reading of them.
    @Test func readsWhatFoundationWritesAsFoundationDoes() throws {
        var rng = SystemRandomNumberGenerator()
        func randomString() -> String {
            let pool: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "ü", "€", "𝄞", "é"]
            return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in pool.randomElement(using: &rng)! })
        }
        func randomValue(_ depth: Int) -> Any {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
            case 0: return NSNull()
            case 1: return Bool.random(using: &rng)
            case 2: return Int.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
            case 3: return Double(Int.random(in: -100_000...100_000, using: &rng)) / 64
            case 4: return randomString()
            case 5: return (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(depth + 1) }
            default:
                var o: [String: Any] = [:]
                for _ in 0..<Int.random(in: 0...4, using: &rng) { o[randomString()] = randomValue(depth + 1) }
                return o
            }
        }
        for _ in 0..<300 {
            let document: [String: Any] = ["v": randomValue(0)]
            let data = try JSONSerialization.data(withJSONObject: document)
            let ours = try CompactJSON.parse(data)
            let theirs = try JSONDecoder().decode(JSONValue.self, from: data)
            #expect(ours == theirs, "\(String(decoding: data, as: UTF8.self))")
        }
    }
}
