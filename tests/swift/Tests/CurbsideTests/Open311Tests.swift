import Curbside
import Foundation
import XCTest

/// The Open311 client through the generated Swift API, against the sandbox server that
/// tests/run starts on loopback (its endpoint in CURBSIDE_SANDBOX_URL).
final class Open311Tests: XCTestCase {
    private var endpoint: String!

    override func setUpWithError() throws {
        endpoint = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SANDBOX_URL"],
                                 "run these tests through tests/run, which starts the sandbox")
    }

    private func client(_ format: Format = .json, key: String = "sandbox-key", url: String? = nil) throws -> Open311Client {
        try Open311Client(config: ServerConfig(endpoint: url ?? endpoint, format: format, apiKey: key, appName: "SwiftTests/1.0"))
    }

    private func pothole() -> NewRequest {
        NewRequest(serviceCode: "pothole", lat: 38.8893, long: -77.0502,
                   attributes: [AttributeAnswer(code: "WHERE", values: ["bike"]),
                                AttributeAnswer(code: "DEPTH", values: ["4"]),
                                AttributeAnswer(code: "HAZARDS", values: ["traffic"], multiple: true)],
                   description: "Pothole reported from Swift")
    }

    func testServicesAndADefinitionToBuildAFormFrom() async throws {
        let services = try await client().services()
        let viaXml = try await client(.xml).services()
        XCTAssertEqual(services, viaXml)
        XCTAssertEqual(services.first { $0.code == "streetlight" }?.kind, .batch)
        let form = try await client(.xml).serviceDefinition(serviceCode: "pothole")
        XCTAssertEqual(Set(form.attributes.map(\.datatype)).count, 6, "all six datatypes")
        XCTAssertFalse(form.attributes[0].variable)
    }

    func testSubmitThenFindTheRequest() async throws {
        guard case let .created(id, _) = try await client().submit(request: pothole()) else {
            return XCTFail("expected an id")
        }
        let found = try await client(.xml).request(id: id)
        XCTAssertEqual(found.description, "Pothole reported from Swift")
        XCTAssertEqual(found.long, -77.0502)
    }

    func testBatchTokenResolvesLater() async throws {
        let request = NewRequest(serviceCode: "streetlight", addressString: "5th and Main")
        guard case let .queued(token, _) = try await client().submit(request: request) else {
            return XCTFail("expected a token")
        }
        let first = try await client().resolveToken(token: token)
        XCTAssertNil(first)
        let second = try await client().resolveToken(token: token)
        XCTAssertNotNil(second)
    }

    func testRefusalsAndFaults() async throws {
        do {
            _ = try await client().submit(request: NewRequest(serviceCode: "pothole", lat: 38.9, long: -77))
            XCTFail("accepted without required answers")
        } catch let ApiError.Rejected(messages) {
            XCTAssertTrue(messages.contains { $0.description == "attribute[DEPTH] is required" }, "\(messages)")
        }
        do {
            _ = try await client(key: "wrong").submit(request: pothole())
            XCTFail("accepted a wrong key")
        } catch ApiError.Unauthorized {}
        do {
            _ = try await client(url: endpoint.replacingOccurrences(of: "/open311/", with: "/fault/commit_then_drop/open311/"))
                .submit(request: pothole())
            XCTFail("an unanswered POST looked like success")
        } catch ApiError.MaybeReceived {}
        do {
            _ = try await client(url: endpoint.replacingOccurrences(of: "/open311/", with: "/fault/503/open311/")).services()
            XCTFail("a 503 looked like success")
        } catch ApiError.Temporary {}
    }
}
