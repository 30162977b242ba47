import Curbside
import Foundation
import XCTest

/// The codes in words from the string catalog: a real refusal reads in Finnish.
final class TextsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = scratchDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testARefusedReportsAttentionReasonRendersInFinnish() async throws {
        let finnish = try CurbsideTexts.bundled(language: "fi")
        let english = try CurbsideTexts.bundled(language: "en")
        let core = try await openCurbside(dir, more: [profile("strict", endpoint: try Sandbox.mode("key_400"))],
                                          keys: ["strict": "revoked"])
        try core.outbox().setNetworkAvailable(available: false)
        let report = try await core.report(pothole("Swift in Finnish", city: "strict"))
        _ = try await core.outbox().runPending(budget: 10)
        let state = try await core.outbox().report(id: report.id).report.state
        guard case let .needsAttention(attention) = state else { return XCTFail("not refused: \(state)") }
        XCTAssertEqual(finnish.attention(attention),
                       "Kaupungin palvelin hylkäsi sovelluksen avaimen tai alueen. Tarkista sovelluksen asetukset.")
        XCTAssertTrue(english.attention(attention).hasPrefix("The city's server refused"))
        XCTAssertEqual(finnish.issue(.notPreciseEnough(accuracyM: 120.4, limitM: 50)),
                       "Sijainti tunnetaan vain 120 metrin tarkkuudella; kaupunki tarvitsee 50 metriä. Odota tarkempaa paikannusta tai siirrä merkkiä.")
        XCTAssertEqual(finnish.history(.received(requestId: "H-7")), "Kaupunki vastaanotti ilmoituksen tunnuksella H-7")
        // The last failure is a code, worded here; its detail is for support.
        let detail = try await core.outbox().report(id: report.id)
        let error = try XCTUnwrap(detail.report.lastError)
        XCTAssertEqual(error.code, .settings)
        XCTAssertEqual(finnish.lastError(error), "Sovelluksen asetukset tälle kaupungille eivät toimi.")
    }

    func testEveryLastErrorCodeHasItsOwnTextInBothLanguages() throws {
        let finnish = try CurbsideTexts.bundled(language: "fi")
        let english = try CurbsideTexts.bundled(language: "en")
        let codes: [LastErrorCode] = [.unreachable, .busy, .noAnswer, .serverFailed, .refused, .duplicate,
                                      .settings, .unsearchable, .tokenUnreadable, .statusRefresh, .other]
        let errors = codes.map { LastError(code: $0, status: 502, detail: "detail") }
        let en = errors.map(english.lastError)
        let fi = errors.map(finnish.lastError)
        XCTAssertEqual(Set(en).count, codes.count, "\(en)")
        XCTAssertEqual(Set(fi).count, codes.count, "\(fi)")
        for (e, f) in zip(en, fi) { XCTAssertNotEqual(e, f, "not translated: \(e)") }
        XCTAssertTrue(fi.allSatisfy { !$0.contains("%") }, "every argument was filled: \(fi)")
        XCTAssertTrue(en.contains { $0.contains("HTTP 502") })
    }
}
