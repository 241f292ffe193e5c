import Foundation
import Testing

@testable import ConnwatchEntra

/// The strict reader must agree with the `JSONDecoder` path it replaced (kept in the tests as
/// ``DecodableOracle``): the same value for good replies, the same `badResponse` wording for
/// bad ones.
@Suite struct StrictJSONTests {
    static let good = """
        {"@odata.context":"x","id":"obj-1","appId":"a0000000-0000-4000-8000-000000000001","displayName":"Zscaler",
         "passwordCredentials":[{"keyId":"k1","displayName":"s","hint":"abc","startDateTime":"2026-01-01T00:00:00Z",
           "endDateTime":"2027-05-01T10:20:30.1234567Z","customKeyIdentifier":null}],
         "keyCredentials":[{"keyId":"k2","customKeyIdentifier":"q83vASNFZ4mrze8BI0VniavN7wE=","type":"AsymmetricX509Cert",
           "usage":"Verify","endDateTime":"2027-01-01T00:00:00.123"}],
         "requiredResourceAccess":[{"resourceAppId":"00000003-0000-0000-c000-000000000000",
           "resourceAccess":[{"id":"r1","type":"Role"}]}]}
        """

    static let variants: [String] = [
        good,
        #"{"id":"o","appId":"a","passwordCredentials":[],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[],"keyCredentials":[],"requiredResourceAccess":null}"#,
        #"{"appId":"a","passwordCredentials":[],"keyCredentials":[]}"#,
        #"{"id":null,"appId":"a","passwordCredentials":[],"keyCredentials":[]}"#,
        #"{"id":7,"appId":"a","passwordCredentials":[],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":{},"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[{"displayName":"x"}],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[{"keyId":"k","endDateTime":"soon"}],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[{"keyId":"k","endDateTime":5}],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[null],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":["k"],"keyCredentials":[]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[],"keyCredentials":[],"requiredResourceAccess":[{"resourceAppId":"r","resourceAccess":[{"id":"i"}]}]}"#,
        #"{"id":"o","appId":"a","passwordCredentials":[],"keyCredentials":[],"displayName":false}"#,
        #"["not","an","object"]"#,
        #"{"id":"o","#,
        "",
    ]

    @Test(arguments: variants.indices)
    func applicationReadAgreesWithJSONDecoder(index: Int) {
        let body = Data(Self.variants[index].utf8)
        let viaDecoder = Result { () throws(EntraError) in
            try DecodableOracle.decode(DecodableOracle.Application.self, from: body, endpoint: "graph GET app").info
        }
        let viaStrict = Result { () throws(EntraError) in
            try StrictProblem.decode(ApplicationInfo.self, from: body, endpoint: "graph GET app")
        }
        switch (viaDecoder, viaStrict) {
        case (.success(let a), .success(let b)):
            #expect(a == b)
        case (.failure(let a), .failure(let b)):
            #expect(a == b)
        default:
            Issue.record("JSONDecoder: \(viaDecoder), strict: \(viaStrict)")
        }
    }

    @Test func theGoodReplyReadsEveryField() throws {
        let app = try StrictProblem.decode(ApplicationInfo.self, from: Data(Self.good.utf8), endpoint: "e")
        #expect(app.id == "obj-1" && app.displayName == "Zscaler")
        #expect(app.passwordCredentials.first?.hint == "abc")
        #expect(app.passwordCredentials.first?.endDateTime == MicrosoftDate.parse("2027-05-01T10:20:30Z"))
        #expect(app.keyCredentials.first?.thumbprintHex == "ABCDEF0123456789ABCDEF0123456789ABCDEF01")
        #expect(app.requiredResourceAccess?.first?.resourceAccess == [ResourceAccessInfo(id: "r1", type: "Role")])
    }

    static let armVariants: [String] = [
        #"{"value":[{"id":"/s/1/ra/x","properties":{"roleDefinitionId":"/s/1/rd/2A2B9908","principalId":"p","scope":"/s/1","extra":1}}],"nextLink":"https://m/next"}"#,
        #"{"value":[]}"#,
        #"{"value":[{"id":"x","properties":{"principalId":"p","scope":"/s"}}]}"#,
        #"{"value":[{"id":"x","properties":null}]}"#,
        #"{"value":[{"id":"x"}]}"#,
        #"{"value":[{"id":"x","properties":[]}]}"#,
        #"{"value":[{"id":"x","properties":{"roleDefinitionId":1,"principalId":"p","scope":"/s"}}]}"#,
        #"{"value":{},"nextLink":null}"#,
        #"{"nextLink":"n"}"#,
    ]

    @Test(arguments: armVariants.indices)
    func armReadsAgreeWithJSONDecoder(index: Int) {
        let body = Data(Self.armVariants[index].utf8)
        let viaDecoder: Result<[String], EntraError> = Result { () throws(EntraError) in
            let page = try DecodableOracle.decode(
                DecodableOracle.ARMPage<DecodableOracle.ARMWire>.self, from: body, endpoint: "arm")
            var out = [page.nextLink ?? "-"]
            for w in page.value {
                out += [w.id, w.properties.roleDefinitionId, w.properties.principalId, w.properties.scope]
            }
            return out
        }
        let viaStrict: Result<[String], EntraError> = Result { () throws(EntraError) in
            let page = try StrictProblem.decode(ARMClient.Page<ARMClient.Wire>.self, from: body, endpoint: "arm")
            var out = [page.nextLink ?? "-"]
            for w in page.value {
                out += [w.id, w.properties.roleDefinitionId, w.properties.principalId, w.properties.scope]
            }
            return out
        }
        agree(viaDecoder, viaStrict)
    }

    @Test func subscriptionsAgreeWithJSONDecoder() {
        let subs = Data(
            #"{"value":[{"subscriptionId":"s1","displayName":"Prod","state":"Enabled"},{"subscriptionId":"s2"}]}"#.utf8)
        let viaDecoder: Result<[SubscriptionInfo], EntraError> = Result { () throws(EntraError) in
            try DecodableOracle.decode(
                DecodableOracle.ARMPage<DecodableOracle.Subscription>.self, from: subs, endpoint: "arm"
            ).value.map(\.info)
        }
        let viaStrict: Result<[SubscriptionInfo], EntraError> = Result { () throws(EntraError) in
            try StrictProblem.decode(ARMClient.Page<SubscriptionInfo>.self, from: subs, endpoint: "arm").value
        }
        agree(viaDecoder, viaStrict)
        #expect((try? viaStrict.get())?.count == 2)
    }

    static let officeVariants: [String] = [
        #"[{"contentType":"Audit.Exchange","status":"enabled","webhook":null}]"#,
        #"[]"#,
        #"[{"contentType":"Audit.Exchange"}]"#,
        #"[{"contentType":"Audit.Exchange","status":3}]"#,
        #"[null]"#,
        #"{"contentType":"Audit.Exchange","status":"enabled"}"#,
        #"[{"#,
    ]

    @Test(arguments: officeVariants.indices)
    func officeListAgreesWithJSONDecoder(index: Int) {
        typealias Sub = OfficeManagementClient.ContentSubscription
        let body = Data(Self.officeVariants[index].utf8)
        agree(
            Result { () throws(EntraError) in
                try DecodableOracle.decode([DecodableOracle.ContentSubscription].self, from: body, endpoint: "office")
                    .map(\.info)
            },
            Result { () throws(EntraError) in
                try StrictProblem.decodeList(from: body, endpoint: "office") { (o) throws(StrictProblem) in
                    try Sub(strict: o)
                }
            })
    }

    private func agree<T: Equatable>(_ a: Result<T, EntraError>, _ b: Result<T, EntraError>) {
        switch (a, b) {
        case (.success(let x), .success(let y)): #expect(x == y)
        case (.failure(let x), .failure(let y)): #expect(x == y)
        default: Issue.record("JSONDecoder: \(a), strict: \(b)")
        }
    }

    @Test func probePagesNeedAListOfObjects() {
        #expect(
            (try? StrictProblem.decode(ProbePage.self, from: Data(#"{"value":[{"id":"x"}]}"#.utf8), endpoint: "p"))
                != nil)
        #expect((try? StrictProblem.decode(ProbePage.self, from: Data(#"{"value":[]}"#.utf8), endpoint: "p")) != nil)
        #expect(throws: EntraError.badResponse(endpoint: "p", detail: "field \"value\" is missing")) {
            try StrictProblem.decode(ProbePage.self, from: Data(#"{"values":[]}"#.utf8), endpoint: "p")
        }
        #expect(throws: EntraError.badResponse(endpoint: "p", detail: "field \"value[0]\" has the wrong type")) {
            try StrictProblem.decode(ProbePage.self, from: Data(#"{"value":[1]}"#.utf8), endpoint: "p")
        }
    }
}
