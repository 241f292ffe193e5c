import Testing

@testable import ConnwatchConfig

/// The parser records where every table and key was first defined, as it inserts them: the
/// lines in configuration errors come from the document as parsed, not from a second scan.
@Suite struct TOMLLinesTests {
    @Test func locatesTablesArraysAndKeys() throws {
        let text = """
            # a comment line
            [daemon]
            check_interval = "1h"   # trailing comment
            socket = "/run/x#y.sock" # a '#' inside a string is not a comment

            [[connector]]
            name = "a"
            "tenant_id" = 'contoso.onmicrosoft.com'
            [connector.labels]
            customer = "x \\" # still the string"
            [[connector]]
            name = "b"
              client_id  =  "c"
            [ connector . labels ]
            "région" = "eu"
            [[webhook]]
            url_file = '''
            multi
            line'''
            format = "slack"
            site.name = "x"
            inline = { a = 1, b.c = 2 }
            """
        let index = try TOMLNode.parseDocument(text).lines
        #expect(index.line("daemon") == 2)
        #expect(index.line("daemon.check_interval") == 3)
        #expect(index.line("daemon.socket") == 4)
        #expect(index.line("connector#0") == 6)
        #expect(index.line("connector#0.name") == 7)
        #expect(index.line("connector#0.tenant_id") == 8)
        #expect(index.line("connector#0.labels") == 9)
        #expect(index.line("connector#0.labels.customer") == 10)
        #expect(index.line("connector#1") == 11)
        #expect(index.line("connector#1.name") == 12)
        #expect(index.line("connector#1.client_id") == 13)
        #expect(index.line("connector#1.labels") == 14)
        #expect(index.line("connector#1.labels.région") == 15)
        #expect(index.line("webhook#0") == 16)
        #expect(index.line("webhook#0.url_file") == 17)
        // A multi-line string's lines are counted: the next key is where it is.
        #expect(index.line("webhook#0.format") == 20)
        #expect(index.line("webhook#0.site") == 21)
        #expect(index.line("webhook#0.site.name") == 21)
        #expect(index.line("webhook#0.inline") == 22)
        // Keys inside an inline table are not tables of the document.
        #expect(index.line("webhook#0.inline.a") == nil)
        #expect(index.line("b.c") == nil && index.line("c") == nil)
        #expect(index.line(table: "connector#1", key: "client_id") == 13)
        #expect(index.line(table: "connector#1", key: "absent") == 11)
        // A key of another table is never taken for an absent one (the old scan guessed).
        #expect(index.line(table: "connector#0", key: "client_id") == 6)
        #expect(index.line(table: "", key: "daemon") == 2)
    }

    @Test func countsLinesOfACRLFFile() throws {
        let index = try TOMLNode.parseDocument("[daemon]\r\nconcurrency = 4\r\n\r\n[[connector]]\r\nname = \"a\"\r\n").lines
        #expect(index.line("daemon") == 1)
        #expect(index.line("daemon.concurrency") == 2)
        #expect(index.line("connector#0") == 4)
        #expect(index.line("connector#0.name") == 5)
    }

    @Test func aTableMadeByAHeaderAfterItsSubTableKeepsItsHeaderLine() throws {
        let index = try TOMLNode.parseDocument("[a.b]\nk = 1\n[a]\nj = 2\n").lines
        #expect(index.line("a") == 1)  // first mentioned by [a.b]
        #expect(index.line("a.b") == 1)
        #expect(index.line("a.b.k") == 2)
        #expect(index.line("a.j") == 4)
    }
}
