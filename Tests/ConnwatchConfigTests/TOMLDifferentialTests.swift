import ConnwatchTestSupport
import Foundation
import Testing

@testable import ConnwatchConfig

/// The own parser against Python's tomllib, an independent implementation, over the corpus.
extension TOMLParserTests {
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

    static func hex(_ s: String) -> String {
        s.utf8.map { String(format: "%02x", $0) }.joined()
    }

    static func canonical(_ node: TOMLNode) -> String {
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

    static func canonical(_ table: [String: TOMLNode]) -> String {
        let items = table.map { (hex($0.key), canonical($0.value)) }.sorted { $0.0 < $1.0 }
        return "{" + items.map { $0.0 + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// Runs tomllib on the documents; one canonical rendering or "ERROR …" per document.
    static func tomllib(_ documents: [String]) throws -> [String] {
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
}
