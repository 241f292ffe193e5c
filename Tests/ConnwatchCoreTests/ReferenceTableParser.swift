import Foundation

/// Reads the flattened permission tables of the reference document
/// (`zscaler-custom-connector-microsoft.txt`, "API Permissions for Microsoft Applications"):
/// each row is "Microsoft API, Permission, Associated Zscaler Actions", several actions
/// are written as "- action" items. Independent of the catalog code on purpose.
enum ReferenceTableParser {
    struct Row: Equatable, CustomStringConvertible {
        var api: String
        var permission: String
        var actions: [String]
        var description: String { "\(api) | \(permission) | \(actions.joined(separator: "; "))" }
    }

    static let markers: [(kind: String, marker: String)] = [
        ("exchange", "ExchangeClose"),
        ("azure-blob", "Microsoft Azure Blob StorageClose"),
        ("mip", "Microsoft Information Protection (MIP)Close"),
        ("onedrive", "OneDriveClose"),
        ("sharepoint", "- SharePoint -"),
        ("teams", "TeamsClose"),
    ]

    static let apis = [
        "Microsoft Information Protection Sync Service",
        "Microsoft Rights Management Services",
        "Windows Azure Service Management",
        "Office 365 Management APIs",
        "Microsoft Graph",
        "Azure Storage",
    ]

    static func parse(_ text: String) -> [String: [Row]] {
        guard let start = text.range(of: "API Permissions for Microsoft Applications") else { return [:] }
        var flat = text[start.upperBound...].split(whereSeparator: \.isNewline).joined(separator: " ")
        // The page ends with its table of contents' first item, "- Exchange".
        if flat.hasSuffix("- Exchange") { flat.removeLast("- Exchange".count) }
        var positions: [(kind: String, range: Range<String.Index>)] = []
        for (kind, marker) in markers {
            if let r = flat.range(of: marker) { positions.append((kind, r)) }
        }
        positions.sort { $0.range.lowerBound < $1.range.lowerBound }
        var out: [String: [Row]] = [:]
        for (i, p) in positions.enumerated() {
            let end = i + 1 < positions.count ? positions[i + 1].range.lowerBound : flat.endIndex
            var body = String(flat[p.range.upperBound..<end])
            body = body.replacingOccurrences(
                of: "Microsoft API Microsoft Permission Associated Zscaler Actions", with: "")
            out[p.kind] = rows(body)
        }
        return out
    }

    static func isPermission(_ word: String) -> Bool {
        if word == "user_impersonation" { return true }
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isLetter) }
            && word.first!.isUppercase
    }

    static func rows(_ body: String) -> [Row] {
        let words = body.split(separator: " ").map(String.init)
        var rows: [Row] = []
        var api = ""
        var pending: (permission: String, words: [String])?
        func flush() {
            guard let p = pending else { return }
            let actions = p.words.split(separator: "-").map { $0.joined(separator: " ") }.filter { !$0.isEmpty }
            rows.append(Row(api: api, permission: p.permission, actions: actions))
            pending = nil
        }
        var i = 0
        outer: while i < words.count {
            for name in apis {
                let n = name.split(separator: " ").count
                if i + n <= words.count, words[i..<(i + n)].joined(separator: " ") == name {
                    flush()
                    api = name
                    i += n
                    continue outer
                }
            }
            if isPermission(words[i]) {
                flush()
                pending = (words[i], [])
            } else {
                pending?.words.append(words[i])
            }
            i += 1
        }
        flush()
        return rows
    }
}
