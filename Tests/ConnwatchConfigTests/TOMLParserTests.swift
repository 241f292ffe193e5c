import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchConfig

/// The own TOML 1.0 parser (TOMLParser.swift): exact trees for every feature, exact errors with
/// their lines, and a differential run against Python's tomllib as an independent implementation.
@Suite struct TOMLParserTests {
    private func parse(_ text: String) throws -> [String: TOMLNode] {
        try TOMLNode.parse(text)
    }

    private func error(_ text: String) -> TOMLSyntaxError? {
        do {
            _ = try TOMLNode.parse(text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Valid documents, exact trees

    @Test func emptyAndCommentsOnly() throws {
        #expect(try parse("") == [:])
        #expect(try parse("# comment\n\n  \t \r\n# another # with hash\n") == [:])
    }

    @Test func keys() throws {
        let doc = #"""
            key = "value"
            bare_key-2 = 1
            1234 = 2
            "127.0.0.1" = 3
            "character encoding" = 4
            "ʎǝʞ" = 5
            'key2' = 6
            'quoted "value"' = 7
            "" = 8
            "esc\"aped\u0041" = 9

            """#
        #expect(
            try parse(doc) == [
                "key": .string("value"), "bare_key-2": .int(1), "1234": .int(2), "127.0.0.1": .int(3),
                "character encoding": .int(4), "ʎǝʞ": .int(5), "key2": .int(6), #"quoted "value""#: .int(7),
                "": .int(8), "esc\"apedA": .int(9),
            ])
    }

    @Test func dottedKeysMakeNestedTables() throws {
        let doc = #"""
            name = "Orange"
            physical.color = "orange"
            physical . shape = "round"
            site."google.com" = true
            3.14159 = "pi"
            a.b.c.d = 1
            a.b.e = 2

            """#
        #expect(
            try parse(doc) == [
                "name": .string("Orange"),
                "physical": .table(["color": .string("orange"), "shape": .string("round")]),
                "site": .table(["google.com": .bool(true)]),
                "3": .table(["14159": .string("pi")]),
                "a": .table(["b": .table(["c": .table(["d": .int(1)]), "e": .int(2)])]),
            ])
    }

    @Test func tablesAndSubTables() throws {
        let doc = #"""
            top = 0
            [table-1]
            key1 = "some string"
            [dog."tater.man"]
            type.name = "pug"
            [ j . "ʞ" . 'l' ]
            [x.y.z]
            [x]
            w = 1
            [fruit]
            apple.color = "red"
            [fruit.apple.texture]
            smooth = true

            """#
        #expect(
            try parse(doc) == [
                "top": .int(0),
                "table-1": .table(["key1": .string("some string")]),
                "dog": .table(["tater.man": .table(["type": .table(["name": .string("pug")])])]),
                "j": .table(["ʞ": .table(["l": .table([:])])]),
                "x": .table(["y": .table(["z": .table([:])]), "w": .int(1)]),
                "fruit": .table([
                    "apple": .table(["color": .string("red"), "texture": .table(["smooth": .bool(true)])])
                ]),
            ])
    }

    @Test func arraysOfTables() throws {
        let doc = #"""
            [[products]]
            name = "Hammer"
            [[products]]  # empty
            [[products]]
            name = "Nail"
            [[fruits]]
            name = "apple"
            [fruits.physical]
            color = "red"
            [[fruits.varieties]]
            name = "red delicious"
            [[fruits.varieties]]
            name = "granny smith"
            [[fruits]]
            name = "banana"
            [[fruits.varieties]]
            name = "plantain"

            """#
        #expect(
            try parse(doc) == [
                "products": .array([
                    .table(["name": .string("Hammer")]), .table([:]), .table(["name": .string("Nail")]),
                ]),
                "fruits": .array([
                    .table([
                        "name": .string("apple"), "physical": .table(["color": .string("red")]),
                        "varieties": .array([
                            .table(["name": .string("red delicious")]), .table(["name": .string("granny smith")]),
                        ]),
                    ]),
                    .table(["name": .string("banana"), "varieties": .array([.table(["name": .string("plantain")])])]),
                ]),
            ])
    }

    @Test func inlineTablesAndArrays() throws {
        let doc = #"""
            point = { x = 1, y = 2 }
            animal = { type.name = "pug", type.legs = 4 }
            empty = {}
            nested = { a = { b = [1, { c = 2 }] } }
            ints = [ 1, 2, 3 ]
            mixed = [ [ 1, 2 ], ["a", 'b'], 1.5, true, { k = "v" } ]
            multi = [
              1,
              2, # comment
            ]
            none = [ # comment
            ]
            deep = [[], [[]]]

            """#
        #expect(
            try parse(doc) == [
                "point": .table(["x": .int(1), "y": .int(2)]),
                "animal": .table(["type": .table(["name": .string("pug"), "legs": .int(4)])]),
                "empty": .table([:]),
                "nested": .table(["a": .table(["b": .array([.int(1), .table(["c": .int(2)])])])]),
                "ints": .array([.int(1), .int(2), .int(3)]),
                "mixed": .array([
                    .array([.int(1), .int(2)]), .array([.string("a"), .string("b")]), .double(1.5), .bool(true),
                    .table(["k": .string("v")]),
                ]),
                "multi": .array([.int(1), .int(2)]),
                "none": .array([]),
                "deep": .array([.array([]), .array([.array([])])]),
            ])
    }

    @Test func basicAndLiteralStrings() throws {
        let doc = #"""
            esc = "b\b t\t n\n f\f r\r q\" bs\\ u\u00E9 U\U0001F600 nul\u0000"
            plain = "café 中文 🚀"
            lit = 'C:\Users\nodejs\templates'
            litq = 'Tom "Dubs" Preston-Werner'
            empty = ""
            emptylit = ''
            tab = "a	b"

            """#
        #expect(
            try parse(doc) == [
                "esc": .string("b\u{8} t\t n\n f\u{C} r\r q\" bs\\ ué U😀 nul\u{0}"),
                "plain": .string("café 中文 🚀"),
                "lit": .string(#"C:\Users\nodejs\templates"#),
                "litq": .string(#"Tom "Dubs" Preston-Werner"#),
                "empty": .string(""), "emptylit": .string(""), "tab": .string("a\tb"),
            ])
    }

    @Test func multiLineStrings() throws {
        let doc = #"""
            s1 = """
            Roses are red
            Violets are blue"""
            s2 = """\
                   The quick brown \
            
            
                   fox jumps over \
                     the lazy dog.\
                   """
            s3 = """Two quotes: "". Three: ""\"."""
            s4 = """"This," she said, "is just a pointless statement.""""
            s5 = """ends with two quotes"""""
            l1 = '''
            The first newline is
               trimmed in raw strings.\n'''
            l2 = ''''That,' she said, 'is still pointless.''''
            crlf = """a\r\nb"""

            """#
        #expect(
            try parse(doc) == [
                "s1": .string("Roses are red\nViolets are blue"),
                "s2": .string("The quick brown fox jumps over the lazy dog."),
                "s3": .string(#"Two quotes: "". Three: """."#),
                "s4": .string(#""This," she said, "is just a pointless statement.""#),
                "s5": .string(#"ends with two quotes"""#),
                "l1": .string("The first newline is\n   trimmed in raw strings.\\n"),
                "l2": .string("'That,' she said, 'is still pointless.'"),
                "crlf": .string("a\r\nb"),
            ])
        // A CRLF inside a multi-line string is read as a newline, like the leading one it trims.
        #expect(try parse("s = \"\"\"\r\nx\r\ny\"\"\"\r\nt = '''\r\nz\r\n'''\r\n") == [
            "s": .string("x\ny"), "t": .string("z\n"),
        ])
    }

    @Test func integers() throws {
        let doc = #"""
            a = 99
            b = +42
            c = 0
            d = -17
            e = -0
            f = 1_000
            g = 5_349_221
            h = 9223372036854775807
            i = -9223372036854775808
            hex = 0xDEADbeef
            hex2 = 0xdead_beef
            oct = 0o755
            bin = 0b11010110
            maxhex = 0x7FFFFFFFFFFFFFFF

            """#
        #expect(
            try parse(doc) == [
                "a": .int(99), "b": .int(42), "c": .int(0), "d": .int(-17), "e": .int(0), "f": .int(1000),
                "g": .int(5_349_221), "h": .int(Int.max), "i": .int(Int.min), "hex": .int(0xDEAD_BEEF),
                "hex2": .int(0xDEAD_BEEF), "oct": .int(0o755), "bin": .int(0b1101_0110), "maxhex": .int(Int.max),
            ])
    }

    @Test func floats() throws {
        let doc = #"""
            a = +1.0
            b = 3.1415
            c = -0.01
            d = 5e+22
            e = 1e06
            f = -2E-2
            g = 6.626e-34
            h = 224_617.445_991_228
            i = inf
            j = +inf
            k = -inf
            z = -0.0

            """#
        #expect(
            try parse(doc) == [
                "a": .double(1), "b": .double(3.1415), "c": .double(-0.01), "d": .double(5e22), "e": .double(1e6),
                "f": .double(-0.02), "g": .double(6.626e-34), "h": .double(224_617.445_991_228),
                "i": .double(.infinity), "j": .double(.infinity), "k": .double(-.infinity), "z": .double(-0.0),
            ])
        let nans = try parse("a = nan\nb = +nan\nc = -nan\n")
        for key in ["a", "b", "c"] {
            guard case .double(let value) = nans[key] else {
                Issue.record("\(key) is not a float")
                continue
            }
            #expect(value.isNaN)
        }
        guard case .double(let z) = try parse("z = -0.0")["z"] else { return }
        #expect(z.sign == .minus)
    }

    @Test func booleans() throws {
        #expect(try parse("t = true\nf = false") == ["t": .bool(true), "f": .bool(false)])
    }

    @Test func datesAndTimes() throws {
        let doc = #"""
            odt1 = 1979-05-27T07:32:00Z
            odt2 = 1979-05-27T00:32:00-07:00
            odt3 = 1979-05-27T00:32:00.999999+05:30
            odt4 = 1979-05-27 07:32:00z
            ldt1 = 1979-05-27T07:32:00
            ldt2 = 1979-05-27t00:32:00.999999
            ld1 = 1979-05-27
            leap = 2000-02-29
            ld2 = 2024-12-31 # a comment
            lt1 = 07:32:00
            lt2 = 00:32:00.999999
            arr = [1979-05-27, 07:32:00, 1979-05-27T07:32:00Z]

            """#
        #expect(
            try parse(doc) == [
                "odt1": .dateTime, "odt2": .dateTime, "odt3": .dateTime, "odt4": .dateTime,
                "ldt1": .dateTime, "ldt2": .dateTime,
                "ld1": .date(year: 1979, month: 5, day: 27), "leap": .date(year: 2000, month: 2, day: 29),
                "ld2": .date(year: 2024, month: 12, day: 31),
                "lt1": .time, "lt2": .time,
                "arr": .array([.date(year: 1979, month: 5, day: 27), .time, .dateTime]),
            ])
    }

    @Test func whitespaceAndLineEndings() throws {
        let doc = "  a = 1 \t# c\r\n\t[ t ]  \r\n  k\t=\t\"v\"\t# c\r\n[[ arr ]]\r\n"
        #expect(try parse(doc) == ["a": .int(1), "t": .table(["k": .string("v")]), "arr": .array([.table([:])])])
        #expect(try parse("\u{FEFF}a = 1") == ["a": .int(1)])
    }

    @Test func implicitTablesMayBeDefinedLaterAndExtendedByDottedKeys() throws {
        #expect(
            try parse("[a.b.c]\nz = 1\n[a]\nb.d = 2\n")
                == ["a": .table(["b": .table(["c": .table(["z": .int(1)]), "d": .int(2)])])])
        #expect(try parse("a.b = 1\n[a.c]\nx = 2\n") == ["a": .table(["b": .int(1), "c": .table(["x": .int(2)])])])
        #expect(
            try parse("[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n")
                == ["a": .array([.table(["b": .table(["x": .int(1)])]), .table(["b": .table(["x": .int(2)])])])])
    }

    // MARK: Invalid documents, exact messages and lines

    static let invalidCases: [(text: String, line: Int, message: String)] = [
        ("name = \"a\"\nname = \"b\"\n", 2, #"duplicate key "name""#),
        ("[daemon]\nx = 1\n[daemon]\n", 3, #"table [daemon] defined twice"#),
        ("[daemon]\ncheck_interval = \"1h\nconcurrency = 4\n", 2,
            #"unterminated string (a basic string must end on the same line)"#),
        ("a = 'abc\n", 1, #"unterminated literal string (it must end on the same line)"#),
        ("a = 1\nb = \"\"\"abc\n\nc = 2\n", 2, #"unterminated multi-line string (opened on line 2)"#),
        ("a = '''abc\n", 1, #"unterminated multi-line literal string (opened on line 1)"#),
        ("a = [1, 2\nb = 3\n", 2, #"expected "," or "]" in the array (opened on line 1), found "b""#),
        ("a = [1, 2,\n", 2, #"unterminated array (opened on line 1)"#),
        ("a = { b = 1\n", 1, #"unterminated inline table (an inline table must be on one line)"#),
        ("a = { b = 1, }\n", 1, #"trailing comma in an inline table is not allowed"#),
        ("a = { b = 1,\n c = 2 }\n", 1, #"unterminated inline table (an inline table must be on one line)"#),
        ("a = \"\\x41\"\n", 1, #"invalid escape "\x" in a string"#),
        ("a = \"\\uD800\"\n", 1, #"invalid escape "\uD800" (not a Unicode scalar value)"#),
        ("a = \"\\U00110000\"\n", 1, #"invalid escape "\U00110000" (not a Unicode scalar value)"#),
        ("a = \"\\u12\"\n", 1, #"invalid escape "\u12" (expected 4 hex digits)"#),
        ("a = 0123\n", 1, #"invalid number "0123" (leading zeros are not allowed)"#),
        ("a = 1__2\n", 1, #"invalid number "1__2""#),
        ("a = 1_\n", 1, #"invalid number "1_""#),
        ("a = +0x10\n", 1, #"invalid number "+0x10" (a sign is not allowed with 0x, 0o or 0b)"#),
        ("a = 0xG\n", 1, #"invalid number "0xG""#),
        ("a = 9223372036854775808\n", 1, #"invalid number "9223372036854775808" (does not fit in 64 bits)"#),
        ("a = -9223372036854775809\n", 1, #"invalid number "-9223372036854775809" (does not fit in 64 bits)"#),
        ("a = 0x8000000000000000\n", 1, #"invalid number "0x8000000000000000" (does not fit in 64 bits)"#),
        ("a = 1.\n", 1, #"invalid number "1." (a decimal point needs digits on both sides)"#),
        ("a = .5\n", 1, #"expected a value, found ".""#),
        ("a = 1e\n", 1, #"invalid number "1e""#),
        ("a = 0.1_\n", 1, #"invalid number "0.1_""#),
        ("a = +.1\n", 1, #"invalid number "+.1""#),
        ("a = 2021-02-29\n", 1, #"invalid date "2021-02-29" (no such month or day)"#),
        ("a = 2021-13-01\n", 1, #"invalid date "2021-13-01" (no such month or day)"#),
        ("a = 1979-05-27T25:00:00\n", 1, #"invalid date-time "1979-05-27T25:00:00""#),
        ("a = 07:32\n", 1, #"invalid time "07:32""#),
        ("a = 1979-05-27T07:32:00+24:00\n", 1, #"invalid date-time "1979-05-27T07:32:00+24:00""#),
        ("a = 1 b = 2\n", 1, #"unexpected "b" after the value (expected a newline or a comment)"#),
        ("[t] x = 1\n", 1, #"unexpected "x" after the table header (expected a newline or a comment)"#),
        ("a = \"x\" # ok\nb = \"y\" z\n", 2, #"unexpected "z" after the value (expected a newline or a comment)"#),
        ("key\n", 1, #"expected "=" after the key "key" (a key needs a value)"#),
        ("key =\n", 1, #"missing value after "=" for the key "key""#),
        ("key = # comment\n", 1, #"missing value after "=" for the key "key""#),
        ("key value\n", 1, #"expected "=" after the key "key", found "v""#),
        ("= 1\n", 1, #"expected a key, found "=" (bare keys may use only A-Z a-z 0-9 _ -)"#),
        ("[a]\nb = 1\n[a.b]\n", 3, #"key "a.b" already holds an integer, not a table"#),
        ("a = [1]\n[[a]]\n", 2, #"cannot append to the static array "a" with [[a]]"#),
        ("[a]\n[[a]]\n", 2, #"array of tables [[a]] conflicts with table [a]"#),
        ("[[a]]\n[a]\n", 2, #"table [a] conflicts with array of tables [[a]]"#),
        ("a = {b = 1}\na.c = 2\n", 2, #"cannot extend the inline table "a""#),
        ("a = {b = 1}\n[a.c]\n", 2, #"cannot extend the inline table "a""#),
        ("a = {b = 1}\n[a]\n", 2, #"cannot extend the inline table "a""#),
        ("a.b = 1\n[a]\n", 2, #"table [a] defined twice (first by dotted keys)"#),
        ("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", 3,
            #"table [fruit.apple] defined twice (first by dotted keys)"#),
        ("[a.b.c]\n[a]\nb.c.d = 1\n", 3, #"table "b.c" is defined by its own header; dotted keys cannot add to it"#),
        ("a.b = 1\na.b.c = 2\n", 2, #"key "a.b" already holds an integer, not a table"#),
        ("a = \"tab\u{1}ctl\"\n", 1, #"control character U+0001 is not allowed in a string (use an escape)"#),
        ("# bell \u{7} in a comment\n", 1, #"control character U+0007 is not allowed in a comment"#),
        ("a = 1\rb = 2\n", 1, #"carriage return without a line feed"#),
        ("a = TRUE\n", 1, #"invalid value "TRUE" (strings need quotes)"#),
        ("a = bare\n", 1, #"invalid value "bare" (strings need quotes)"#),
        ("a = \"\"\"abc\"\"\"\"\"\"\n", 1, #"too many quotes at the end of a multi-line string (at most five)"#),
        ("[a\n", 1, #"expected "]" to close the table header, found the end of the line"#),
        ("[[a]\n", 1, #"expected "]]" to close the array of tables header, found the end of the line"#),
        ("a.\"\"\"b\"\"\" = 1\n", 1, #"a key cannot be a multi-line string"#),
        ("a = [1,,2]\n", 1, #"expected a value, found ",""#),
        ("a = {,}\n", 1, #"expected a key, found "," (bare keys may use only A-Z a-z 0-9 _ -)"#),
        ("a = {a = 1, a = 2}\n", 1, #"duplicate key "a""#),
        ("x = 1\n\n\n[t]\ny = [\n  1,\n  2\n  3,\n]\n", 8,
            #"expected "," or "]" in the array (opened on line 5), found "3""#),
        ("k = \"\"\"\nline\n  \\q\"\"\"\n", 3, #"invalid escape "\q" in a string"#),
    ]

    @Test(arguments: invalidCases)
    func invalidDocument(_ text: String, line: Int, message: String) {
        guard let error = error(text) else {
            Issue.record("accepted: \(text.debugDescription)")
            return
        }
        #expect(error.message == message)
        #expect(error.line == line)
    }

    @Test func nestingIsBoundedNotACrash() {
        let deepArray = "a = " + String(repeating: "[", count: 100_000)
        #expect(error(deepArray)?.message == "arrays and inline tables nested more than 100 deep")
        let deepInline = "a = " + String(repeating: "{b=", count: 50_000)
        #expect(error(deepInline)?.message == "arrays and inline tables nested more than 100 deep")
        let deepKey = (0..<1_000).map { "k\($0)" }.joined(separator: ".") + " = 1"
        #expect(error(deepKey)?.message == "tables nested more than 100 deep")
        #expect(error("[" + (0..<1_000).map { "k\($0)" }.joined(separator: ".") + "]")?.line == 1)
    }

    @Test func neverCrashesOnTruncatedOrMutatedInput() throws {
        // Every prefix of every corpus document, and each with one byte replaced by a TOML
        // delimiter: the parser must return a tree or an error, whatever the bytes.
        let delimiters: [Character] = ["\"", "'", "[", "]", "{", "}", "=", ".", ",", "#", "\n", "\\", " "]
        for text in Self.validCorpus + Self.invalidCorpus {
            let chars = Array(text)
            for cut in 0...chars.count { _ = try? TOMLNode.parse(String(chars[..<cut])) }
            for (index, delimiter) in zip(chars.indices, delimiters.cycled()) {
                var mutated = chars
                mutated[index] = delimiter
                _ = try? TOMLNode.parse(String(mutated))
            }
        }
    }

    // MARK: Differential test against Python's tomllib

    /// Python 3.11+ `tomllib` prints, for each document, the same canonical rendering as
    /// `canonical(_:)` below, or "ERROR <message>". Floats compare by bit pattern (NaN as "nan"),
    /// strings and keys by their UTF-8 bytes in hex, dates by value, times and date-times by kind.
    static let pythonScript = #"""
        import datetime, json, math, struct, sys, tomllib

        def canon(v):
            if isinstance(v, dict):
                items = sorted((k.encode().hex(), canon(x)) for k, x in v.items())
                return "{" + ",".join(k + ":" + x for k, x in items) + "}"
            if isinstance(v, list):
                return "[" + ",".join(canon(x) for x in v) + "]"
            if isinstance(v, str):
                return "s:" + v.encode().hex()
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, int):
                return "i:%d" % v
            if isinstance(v, float):
                return "f:nan" if math.isnan(v) else "f:%d" % struct.unpack("<Q", struct.pack("<d", v))[0]
            if isinstance(v, datetime.datetime):
                return "datetime"
            if isinstance(v, datetime.date):
                return "date:%04d-%02d-%02d" % (v.year, v.month, v.day)
            if isinstance(v, datetime.time):
                return "time"
            raise TypeError(type(v))

        out = []
        for doc in json.load(open(sys.argv[1], encoding="utf-8")):
            try:
                out.append(canon(tomllib.loads(doc)))
            except tomllib.TOMLDecodeError as e:
                out.append("ERROR " + str(e))
        print(json.dumps(out))
        """#

    static let python3: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    private static func hex(_ s: String) -> String {
        s.utf8.map { String(format: "%02x", $0) }.joined()
    }

    private static func canonical(_ node: TOMLNode) -> String {
        switch node {
        case .table(let table): return canonical(table)
        case .array(let items): return "[" + items.map(canonical).joined(separator: ",") + "]"
        case .string(let s): return "s:" + hex(s)
        case .int(let i): return "i:\(i)"
        case .double(let d): return d.isNaN ? "f:nan" : "f:\(d.bitPattern)"
        case .bool(let b): return b ? "true" : "false"
        case .date(let y, let m, let d): return String(format: "date:%04d-%02d-%02d", y, m, d)
        case .time: return "time"
        case .dateTime: return "datetime"
        }
    }

    private static func canonical(_ table: [String: TOMLNode]) -> String {
        let items = table.map { (hex($0.key), canonical($0.value)) }.sorted { $0.0 < $1.0 }
        return "{" + items.map { $0.0 + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// Runs tomllib on the documents; one canonical rendering or "ERROR …" per document.
    private static func tomllib(_ documents: [String]) throws -> [String] {
        let temporary = try TemporaryDirectory("toml-diff")
        let dir = temporary.url
        let corpus = dir.appendingPathComponent("corpus.json")
        try JSONSerialization.data(withJSONObject: documents).write(to: corpus)
        let script = dir.appendingPathComponent("canon.py")
        try pythonScript.write(to: script, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python3!)
        process.arguments = [script.path, corpus.path]
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DifferentialError(
                "python3 failed (status \(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
        }
        guard let results = try JSONSerialization.jsonObject(with: output) as? [String],
            results.count == documents.count
        else { throw DifferentialError("unexpected python3 output: \(String(decoding: output, as: UTF8.self))") }
        return results
    }

    struct DifferentialError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test(.enabled(if: python3 != nil, "python3 not found: the differential test against tomllib is skipped"))
    func agreesWithPythonTomllibOnValidDocuments() throws {
        #expect(Self.validCorpus.count >= 40)
        let expected = try Self.tomllib(Self.validCorpus)
        for (text, python) in zip(Self.validCorpus, expected) {
            #expect(!python.hasPrefix("ERROR"), "tomllib rejects a corpus document: \(python)\n\(text)")
            do {
                let ours = Self.canonical(try TOMLNode.parse(text))
                #expect(ours == python, "differs from tomllib:\n\(text)")
            } catch {
                Issue.record("rejected (line \(error.line ?? 0): \(error.message)), tomllib accepts:\n\(text)")
            }
        }
    }

    @Test(.enabled(if: python3 != nil, "python3 not found: the differential test against tomllib is skipped"))
    func agreesWithPythonTomllibOnInvalidDocuments() throws {
        let documents = Self.invalidCorpus + Self.invalidCases.map(\.text).filter { !Self.tomllibAccepts.contains($0) }
        let expected = try Self.tomllib(documents)
        for (text, python) in zip(documents, expected) {
            #expect(python.hasPrefix("ERROR"), "tomllib accepts: \(text.debugDescription)")
            #expect(error(text) != nil, "we accept: \(text.debugDescription)")
        }
    }

    /// Invalid for us, valid for tomllib: Python integers have no 64-bit limit.
    static let tomllibAccepts: Set<String> = [
        "a = 9223372036854775808\n", "a = -9223372036854775809\n", "a = 0x8000000000000000\n",
    ]

    // MARK: Corpus for the differential test (also fed to the crash test)

    static let validCorpus: [String] = [
        "",
        #"""
            # only a comment

               \#t

            """#,
        #"""
            a = 1
            b = -2
            c = +3
            d = 0
            e = -0
            f = 1_000_000
            g = 9223372036854775807
            h = -9223372036854775808

            """#,
        #"""
            hex = 0xDEADbeef
            hex2 = 0x00_ff
            oct = 0o755
            bin = 0b1101_0101
            max = 0x7FFFFFFFFFFFFFFF

            """#,
        #"""
            f1 = 1.0
            f2 = -3.1415
            f3 = 5e+22
            f4 = 1e06
            f5 = -2E-2
            f6 = 6.626e-34
            f7 = 224_617.445_991_228
            f8 = -0.0
            f9 = +0.0
            f10 = 0e0

            """#,
        #"""
            a = inf
            b = +inf
            c = -inf
            d = nan
            e = +nan
            f = -nan

            """#,
        #"""
            big = 1e400
            tiny = 5e-324
            x = 0.1
            y = 123456789012345678.5

            """#,
        #"""
            t = true
            f = false

            """#,
        #"""
            s = "hello"
            q = "quote \" backslash \\ tab \t nl \n cr \r ff \f bs \b"

            """#,
        #"""
            u = "\u00e9\u20AC \U0001F600 \u0000"
            raw = "café 中文 🚀"

            """#,
        #"""
            lit = 'C:\Users\nodejs\templates'
            q = '<\i\c*\s*>'
            empty = ''
            e2 = ""

            """#,
        #"""
            s = """
            Roses are red
            Violets are blue"""

            """#,
        #"""
            s = """\
               The quick brown \


               fox jumps over \
                 the lazy dog.\
               """

            """#,
        #"""
            s = """Here are two quotation marks: "". Simple enough."""
            s2 = """Here are three quotation marks: ""\"."""
            s3 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
            s4 = """"This," she said, "is just a pointless statement.""""

            """#,
        #"""
            re = '''I [dw]on't need \d{2} apples'''
            lines = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            q = '''Here are fifteen quotation marks: """""""""""""""'''
            a = ''''That,' she said, 'is still pointless.''''

            """#,
        #"""
            s = """tab\#there, ws \t  \
              \#t  end"""

            """#,
        #"""
            key = "value"
            bare_key = "value"
            bare-key = "value"
            1234 = "value"
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʕʘ̫ʘʔ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"

            """#,
        #"""
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true

            """#,
        #"""
            fruit.name = "banana"
            fruit. color = "yellow"
            fruit . flavor = "banana"
            3.14159 = "pi"

            """#,
        #"""
            apple.type = "fruit"
            orange.type = "fruit"
            apple.skin = "thin"
            orange.skin = "thick"
            apple.color = "red"
            orange.color = "orange"

            """#,
        #"""
            [table-1]
            key1 = "some string"
            key2 = 123

            [table-2]
            key1 = "another string"
            key2 = 456

            """#,
        #"""
            [dog."tater.man"]
            type.name = "pug"
            [ j . "ʞ" . 'l' ]
            [a.b.c]
            [ d.e.f ]
            [ g .  h  . i ]

            """#,
        #"""
            [x.y.z.w]
            [x]

            """#,
        #"""
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true
            [fruit.apple.texture]
            smooth = true

            """#,
        #"""
            name = "Fido"
            breed = "pug"
            [owner]
            name = "Regina Dogman"
            member_since = 1999-08-04

            """#,
        #"""
            odt1 = 1979-05-27T07:32:00Z
            odt2 = 1979-05-27T00:32:00-07:00
            odt3 = 1979-05-27T00:32:00.999999-07:00
            odt4 = 1979-05-27 07:32:00Z
            odt5 = 1979-05-27t07:32:00z

            """#,
        #"""
            ldt1 = 1979-05-27T07:32:00
            ldt2 = 1979-05-27T00:32:00.999999
            ld1 = 1979-05-27
            ld2 = 2000-02-29
            ld3 = 2024-12-31 # comment
            lt1 = 07:32:00
            lt2 = 00:32:00.999999

            """#,
        #"""
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green" ]
            nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
            nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
            string_array = [ "all", 'strings', """are the same""", '''type''' ]
            numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
            contributors = [
              "Foo Bar <foo@example.com>",
              { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
            ]

            """#,
        #"""
            integers2 = [
              1, 2, 3
            ]
            integers3 = [
              1,
              2, # this is ok
            ]
            empty = []
            empty2 = [ # c
            ]
            n = [[],[[]]]

            """#,
        #"""
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            empty = {}
            nested = { a = { b = { c = [1, {d = 2}] } } }

            """#,
        #"""
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            sku = 284758393

            color = "gray"

            """#,
        #"""
            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"
            shape = "round"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"


            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"

            """#,
        #"""
            points = [ { x = 1, y = 2, z = 3 },
                       { x = 7, y = 8, z = 9 },
                       { x = 2, y = 4, z = 8 } ]

            """#,
        #"""
            a = 1\#r
            b = "x"\#r
            [t]\#r
            c = """\#r
            line1\#r
            line2"""\#r
            d = '''\#r
            l\#r
            '''\#r
            # comment\#r

            """#,
        #"""
              indented = 1
            \#t[ t ] \#u{20}
            \#t  k\#t=\#t"v"\#t# c

            """#,
        #"""
            a.b.c = 1
            a.d = 2
            [a.e]
            f = 3

            """#,
        #"""
            [a.b.c]
            z = 1
            [a]
            b.d = 2

            """#,
        #"""
            [a]
            [a.b]
            [a.b.c]
            [a.d]

            """#,
        #"""
            [[a]]
            [a.b]
            x = 1
            [[a]]
            [a.b]
            x = 2

            """#,
        #"""
            arr = [1, "two", 3.0, true, [4], {five = 5}, 1979-05-27, 07:32:00, 1979-05-27T07:32:00Z]

            """#,
        #"""
            # comment with unicode é 😀 and tab\#t
            k = "v" #trailing é

            """#,
        #"""
            key = "# not a comment"
            other = '#'

            """#,
        #"""
            "a.b" = 1
            a.b = 2
            'a'.c = 3
            "" . "" = 4

            """#,
        #"""
            leap = 2000-02-29
            normal = 2023-02-28
            end = 1999-12-31T23:59:59.123Z
            off = 2020-01-01T00:00:00+23:59

            """#,
        #"""
            s = """a""b"""
            t = """
            """
            u = """""""
            v = '''''''

            """#,
        #"""
            k = "\u00E9"
            l = "\U0010FFFF"
            m = "\uD7FF\uE000"

            """#,
        #"""
            [tbl]
            inner = { a.b = 1, a.c = "x" }
            [tbl.other]

            """#,
    ]

    static let invalidCorpus: [String] = [
        #"""
            a = 1
            a = 2

            """#,
        #"""
            [t]
            [t]

            """#,
        #"""
            a = "abc

            """#,
        #"""
            a = 'abc

            """#,
        #"""
            a = """abc

            """#,
        #"""
            a = '''abc

            """#,
        #"""
            a = [1, 2

            """#,
        #"""
            a = { b = 1

            """#,
        #"""
            a = { b = 1, }

            """#,
        #"""
            a = { b = 1,
             c = 2 }

            """#,
        #"""
            a = "\x41"

            """#,
        #"""
            a = "\uD800"

            """#,
        #"""
            a = "\U00110000"

            """#,
        #"""
            a = 0123

            """#,
        #"""
            a = 1__2

            """#,
        #"""
            a = _1

            """#,
        #"""
            a = 1_

            """#,
        #"""
            a = +0x10

            """#,
        #"""
            a = 0xG

            """#,
        #"""
            a = 1.

            """#,
        #"""
            a = .5

            """#,
        #"""
            a = 1e

            """#,
        #"""
            a = 1.2.3

            """#,
        #"""
            a = 2021-02-30

            """#,
        #"""
            a = 2021-13-01

            """#,
        #"""
            a = 1979-05-27T25:00:00

            """#,
        #"""
            a = 07:32

            """#,
        #"""
            a = 1 b = 2

            """#,
        #"""
            key

            """#,
        #"""
            key =

            """#,
        #"""
            = 1

            """#,
        #"""
            [a]
            b = 1
            [a.b]

            """#,
        #"""
            a = [1]
            [[a]]

            """#,
        #"""
            a = {b = 1}
            a.c = 2

            """#,
        #"""
            a = {b = 1}
            [a.c]

            """#,
        #"""
            a.b = 1
            [a]

            """#,
        #"""
            [fruit]
            apple.color = "red"
            [fruit.apple]

            """#,
        #"""
            [[a]]
            [a]

            """#,
        #"""
            [a]
            [[a]]

            """#,
        #"""
            [a.b.c]
            [a]
            b.c.d = 1

            """#,
        #"""
            a = "tab\#u{1}ctl"

            """#,
        #"""
            # ctl \#u{7} in comment

            """#,
        #"""
            a = 1\#rb = 2

            """#,
        #"""
            a = TRUE

            """#,
        #"""
            a = bare

            """#,
        #"""
            a = """abc""""""

            """#,
        #"""
            a = "abc" "def"

            """#,
        #"""
            [a

            """#,
        #"""
            [[a]

            """#,
        #"""
            a = 1979-05-27T07:32:00X

            """#,
        #"""
            a."""b""" = 1

            """#,
        #"""
            [a]b = 1

            """#,
        #"""
            a = [1,,2]

            """#,
        #"""
            a = {,}

            """#,
        #"""
            a.b = 1
            a.b.c = 2

            """#,
        #"""
            a = 1
            [a]

            """#,
        #"""
            a = -inf_

            """#,
        #"""
            a = 0b102

            """#,
        #"""
            a = 1979-05-27 07:32

            """#,
    ]

}

extension Array {
    /// The elements repeated without end.
    fileprivate func cycled() -> UnfoldSequence<Element, Int> {
        sequence(state: 0) { index in
            defer { index = (index + 1) % count }
            return self[index]
        }
    }
}
