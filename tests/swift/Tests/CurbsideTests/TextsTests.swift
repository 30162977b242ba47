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
    }
}
