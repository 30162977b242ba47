import Curbside
import CurbsideSampleCore
import Foundation
import XCTest

@MainActor
final class DraftsModelTests: XCTestCase {
    func testTheScreenShowsWhatIsStoredAndExplainsRefusals() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let core = try await CurbsideCore.open(config: CurbsideConfig(dataDir: dir.path))
        let model = DraftsModel(drafts: core.drafts())

        await model.save(id: nil, edits: [.service(serviceCode: "graffiti"), .description(text: "Tag on the bridge")])
        XCTAssertEqual(model.state.drafts.map(\.fields.description), ["Tag on the bridge"])
        XCTAssertNil(model.state.error)

        let bad = DraftEdit.location(location: Location(latitude: 91, longitude: 0, accuracyM: nil,
                                                        source: .manualPin, capturedAt: Date()))
        await model.save(id: nil, edits: [bad])
        XCTAssertEqual(model.state.fieldInError, "location.latitude")
        XCTAssertEqual(model.state.drafts.count, 1, "the refused draft was not saved")

        let id = try XCTUnwrap(model.state.drafts.first?.id)
        await model.delete(id: id)
        XCTAssertEqual(model.state.drafts, [])
        await model.delete(id: id)
        XCTAssertEqual(model.state.error, "This draft no longer exists.")
    }
}
