import Foundation

@testable import ConnwatchEntra

/// The `JSONDecoder` reading the adapters used before the strict reader, kept here only as an
/// independent oracle for the differential tests (StrictJSONTests): production reads every
/// Microsoft and Zscaler reply with ``StrictProblem`` alone.
enum DecodableOracle {
    static func decode<T: Decodable>(_ type: T.Type, from body: Data, endpoint: String) throws(EntraError) -> T {
        do {
            return try decoder.decode(T.self, from: body)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .badResponse(endpoint: endpoint, detail: "field \"\(key.stringValue)\" is missing")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw .badResponse(endpoint: endpoint, detail: "field \"\(path(ctx.codingPath))\" has the wrong type")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw .badResponse(endpoint: endpoint, detail: "field \"\(path(ctx.codingPath))\" is null")
        } catch let DecodingError.dataCorrupted(ctx) where !ctx.codingPath.isEmpty {
            throw .badResponse(endpoint: endpoint, detail: "field \"\(path(ctx.codingPath))\" is malformed")
        } catch {
            throw .badResponse(endpoint: endpoint, detail: "not valid JSON")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let s = try decoder.singleValueContainer().decode(String.self)
            guard let date = MicrosoftDate.parse(s) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad date"))
            }
            return date
        }
        return d
    }()

    /// The application read as `JSONDecoder` sees it, field for field.
    struct Application: Decodable {
        struct Password: Decodable {
            var keyId: String
            var displayName: String?
            var hint: String?
            var startDateTime: Date?
            var endDateTime: Date?
        }
        struct Key: Decodable {
            var keyId: String
            var displayName: String?
            var customKeyIdentifier: String?
            var type: String?
            var usage: String?
            var startDateTime: Date?
            var endDateTime: Date?
        }
        struct Access: Decodable {
            var id: String
            var type: String
        }
        struct Required: Decodable {
            var resourceAppId: String
            var resourceAccess: [Access]
        }
        var id: String
        var appId: String
        var displayName: String?
        var passwordCredentials: [Password]
        var keyCredentials: [Key]
        var requiredResourceAccess: [Required]?

        var info: ApplicationInfo {
            ApplicationInfo(
                id: id, appId: appId, displayName: displayName,
                passwordCredentials: passwordCredentials.map {
                    PasswordCredentialInfo(
                        keyId: $0.keyId, displayName: $0.displayName, hint: $0.hint, startDateTime: $0.startDateTime,
                        endDateTime: $0.endDateTime)
                },
                keyCredentials: keyCredentials.map {
                    KeyCredentialInfo(
                        keyId: $0.keyId, displayName: $0.displayName, customKeyIdentifier: $0.customKeyIdentifier,
                        type: $0.type, usage: $0.usage, startDateTime: $0.startDateTime, endDateTime: $0.endDateTime)
                },
                requiredResourceAccess: requiredResourceAccess?.map {
                    RequiredResourceAccessInfo(
                        resourceAppId: $0.resourceAppId,
                        resourceAccess: $0.resourceAccess.map { ResourceAccessInfo(id: $0.id, type: $0.type) })
                })
        }
    }

    /// An ARM list page.
    struct ARMPage<T: Decodable>: Decodable {
        var value: [T]
        var nextLink: String?
    }

    /// An ARM role assignment, as the ARM client reads it.
    struct ARMWire: Decodable {
        struct Properties: Decodable {
            var roleDefinitionId: String
            var principalId: String
            var scope: String
        }
        var id: String
        var properties: Properties
    }

    struct Subscription: Decodable {
        var subscriptionId: String
        var displayName: String?
        var state: String?

        var info: SubscriptionInfo { SubscriptionInfo(subscriptionId: subscriptionId, displayName: displayName, state: state) }
    }

    struct ContentSubscription: Decodable {
        var contentType: String
        var status: String

        var info: OfficeManagementClient.ContentSubscription {
            OfficeManagementClient.ContentSubscription(contentType: contentType, status: status)
        }
    }
}
