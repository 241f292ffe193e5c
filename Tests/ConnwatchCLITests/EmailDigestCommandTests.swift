import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchCLI

/// `connwatchctl email digest NAME`: the request it makes and how the server's verdict maps
/// onto exit codes (0 delivered, 75 temporary, 76 refused, 64 unknown sink).
@Suite struct EmailDigestCommandTests {
    static func reply(_ verdict: String, failure: String? = nil) -> Data {
        Fixture.json(
            ControlAPI.DigestReply(
                email: "ops", verdict: verdict, messageId: "digest.ops.manual.1.connwatch@example.com",
                accepted: verdict == "delivered" ? ["ops@example.com"] : [],
                refused: verdict == "delivered" ? [.init(address: "gone@example.com", reply: "550 5.1.1 no such user")] : [],
                deferred: [], failure: failure))
    }

    @Test func deliveredPrintsRecipientsAndMessageID() {
        let daemon = CannedDaemon("POST /v1/emails/ops/digest", Self.reply("delivered"))
        let out = EmailDigestCommand.outcome(name: "ops", daemon.context())
        #expect(out.exitCode == 0)
        #expect(
            out.stdout
                == "ops: digest delivered to ops@example.com; refused: gone@example.com (550 5.1.1 no such user) (Message-ID <digest.ops.manual.1.connwatch@example.com>)\n"
        )
        #expect(daemon.requests.withLock { $0.map(\.method) } == ["POST"])
        let json = EmailDigestCommand.outcome(name: "ops", daemon.context(json: true))
        #expect(json.exitCode == 0 && json.stdout.contains(#""message_id":"digest.ops.manual.1.connwatch@example.com""#))
    }

    @Test func failuresMapOntoExitCodes() {
        let temporary = CannedDaemon("POST /v1/emails/ops/digest", Self.reply("transient", failure: "DATA: 451 4.3.0 later"))
        let t = EmailDigestCommand.outcome(name: "ops", temporary.context())
        #expect(t.exitCode == 75 && t.stderr.contains("451 4.3.0 later") && t.stdout.isEmpty)
        let refused = CannedDaemon("POST /v1/emails/ops/digest", Self.reply("permanent", failure: "MAIL FROM: 550 no"))
        #expect(EmailDigestCommand.outcome(name: "ops", refused.context()).exitCode == 76)
        let unknown = CannedDaemon(
            "POST /v1/emails/nope/digest", status: 404,
            Data(#"{"error":"no [[email]] sink named \"nope\" is configured","schema_version":1}"#.utf8))
        let u = EmailDigestCommand.outcome(name: "nope", unknown.context())
        #expect(u.exitCode == 64 && u.stderr.contains("no [[email]] sink named"))
    }
}
