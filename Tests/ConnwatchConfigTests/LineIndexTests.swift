import Testing

@testable import ConnwatchConfig

@Suite struct LineIndexTests {
    @Test func locatesTablesArraysAndKeys() {
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
            url_file = "u"
            = "no key"
            not a key = x
            """
        let index = LineIndex(text: text)
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
        #expect(index.line("webhook#0.url_file") == 17)
        #expect(index.line(table: "connector#1", key: "client_id") == 13)
        #expect(index.line(table: "connector#1", key: "absent") == 11)
        // An `=` without a key, and words that are no key, are not indexed.
        #expect(index.line("webhook#0.") == nil)
        #expect(index.line("webhook#0.not a key") == 19)  // a locator: spaces are allowed in quoted keys
    }

    @Test func countsLinesOfACRLFFile() {
        let index = LineIndex(text: "[daemon]\r\nconcurrency = 4\r\n\r\n[[connector]]\r\nname = \"a\"\r\n")
        #expect(index.line("daemon") == 1)
        #expect(index.line("daemon.concurrency") == 2)
        #expect(index.line("connector#0") == 4)
        #expect(index.line("connector#0.name") == 5)
    }

    @Test func firstOccurrenceWins() {
        let index = LineIndex(text: "[a]\nk = 1\nk = 2\n[a]\n")
        #expect(index.line("a") == 1)
        #expect(index.line("a.k") == 2)
    }
}
