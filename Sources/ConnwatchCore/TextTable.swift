/// A plain aligned text table for human output (no colour: callers add it on a TTY).
public struct TextTable: Sendable {
    public var headers: [String]
    public var rows: [[String]]

    public init(headers: [String], rows: [[String]] = []) {
        self.headers = headers
        self.rows = rows
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    /// Columns separated by two spaces, the last column not padded, lines without
    /// trailing spaces. A cell may hold several lines; the row then spans them. Every line
    /// of every cell goes through ``UntrustedText/terminal(_:)``: cells carry names and
    /// summaries from Microsoft, Zscaler and the configuration, and an escape sequence or a
    /// bidi override in one must neither act on the terminal nor shift the columns.
    public func render() -> String {
        var out = ""
        render { line in
            out += line
            out += "\n"
        }
        return out
    }

    /// The same lines one at a time (without their newline): a table of 10,000 rows need
    /// not exist twice as text.
    public func render(line emit: (String) -> Void) {
        let columns = headers.count
        let headers = self.headers.map(UntrustedText.terminal)
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.prefix(columns).enumerated() {
                widths[i] = max(widths[i], Self.lines(cell).map(\.count).max() ?? 0)
            }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for i in 0..<columns {
                let cell = i < cells.count ? cells[i] : ""
                if i == columns - 1 {
                    out += cell
                } else {
                    out += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                }
            }
            while out.last == " " { out.removeLast() }
            return out
        }
        emit(line(headers))
        for row in rows {
            let split = row.map(Self.lines)
            let height = split.map(\.count).max() ?? 1
            for h in 0..<height {
                emit(line(split.map { h < $0.count ? $0[h] : "" }))
            }
        }
    }

    /// A cell's lines, each safe for a terminal. (Cleaning line by line keeps the breaks
    /// that make a multi-line cell; anything else that moves the cursor is gone.)
    static func lines(_ cell: String) -> [String] {
        cell.split(separator: "\n", omittingEmptySubsequences: false).map { UntrustedText.terminal(String($0)) }
    }
}
