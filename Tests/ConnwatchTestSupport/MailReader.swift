import Foundation

/// For the mail tests: a small independent reader of what ``MailMessage`` writes: headers unfolded, parts
/// split at the boundary, quoted-printable and encoded-words decoded.
public enum MailReader {
    public static func split(_ raw: String) -> (headers: [(String, String)], body: String) {
        let sep = raw.range(of: "\r\n\r\n")!
        var headers: [(String, String)] = []
        for line in raw[..<sep.lowerBound].components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                headers[headers.count - 1].1 += line
            } else {
                let colon = line.firstIndex(of: ":")!
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers, String(raw[sep.upperBound...]))
    }

    public static func header(_ h: [(String, String)], _ name: String) -> String? { h.first { $0.0 == name }?.1 }

    public static func decodeQP(_ s: String) -> String {
        var bytes: [UInt8] = []
        let text = s.replacingOccurrences(of: "=\r\n", with: "")
        let u = Array(text.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "="), i + 2 < u.count, let b = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(b)
                i += 3
            } else {
                bytes.append(u[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    public static func decodeWords(_ s: String) -> String {
        var out = ""
        for word in s.split(separator: " ") {
            if word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?=") {
                out += String(decoding: Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))!, as: UTF8.self)
            } else {
                out += (out.isEmpty ? "" : " ") + word
            }
        }
        return out
    }
}

