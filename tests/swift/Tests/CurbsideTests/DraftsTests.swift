import Curbside
import Foundation
import XCTest

/// The draft scenario of core/tests/drafts.rs, through the generated Swift API.
final class DraftsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = scratchDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func open() async throws -> CurbsideCore {
        try await CurbsideCore.open(config: CurbsideConfig(dataDir: dir.path))
    }

    private let here = Location(latitude: 38.8895, longitude: -77.0353, accuracyM: 4.5, source: .gps,
                                capturedAt: Date(timeIntervalSince1970: 1_795_775_400))

    func testDraftsSurviveReopeningAndAreEditedFieldByField() async throws {
        var core = try await open()
        let first = try await core.drafts().create(edits: [.service(serviceCode: "pothole"), .location(location: here)])
        _ = try await core.drafts().create(edits: [.description(text: "Street light out")])
        await core.shutdown()

        core = try await open()
        let listed = try await core.drafts().list()
        XCTAssertEqual(listed.count, 2)
        XCTAssertEqual(listed[1], first, "oldest last, and read back exactly")
        XCTAssertNil(listed[0].fields.location)

        let edited = try await core.drafts().edit(id: first.id, edits: [.description(text: "Two potholes")])
        XCTAssertEqual(edited.fields.serviceCode, "pothole", "a field not edited stays")
        XCTAssertEqual(edited.fields.location, here)
        XCTAssertEqual(edited.createdAt, first.createdAt)
        try await core.drafts().delete(id: first.id)
        let remaining = try await core.drafts().list()
        XCTAssertEqual(remaining.count, 1)
    }

    func testInvalidInputNamesTheFieldAndSavesNothing() async throws {
        let core = try await open()
        let saved = try await core.drafts().create(edits: [.location(location: here)])
        for (lat, lon, field) in [(200.0, 0.0, "location.latitude"), (Double.nan, 0.0, "location.latitude"),
                                  (0.0, Double.nan, "location.longitude")] {
            let bad = DraftEdit.location(location: Location(latitude: lat, longitude: lon, accuracyM: nil,
                                                            source: .manualPin, capturedAt: Date()))
            do {
                _ = try await core.drafts().create(edits: [bad])
                XCTFail("accepted \(lat), \(lon)")
            } catch let ApiError.InvalidInput(name, _) {
                XCTAssertEqual(name, field)
            }
        }
        let drafts = try await core.drafts().list()
        XCTAssertEqual(drafts, [saved])
    }

    func testUnknownIdsAreNotFound() async throws {
        let core = try await open()
        let saved = try await core.drafts().create(edits: [])
        try await core.drafts().delete(id: saved.id)
        do {
            _ = try await core.drafts().get(id: saved.id)
            XCTFail("a deleted draft was found")
        } catch ApiError.NotFound {}
    }

    func testAnAutosaveWhileAPhotoIsBeingAddedLosesNothing() async throws {
        let camera = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SAMPLE_PHOTO"])
        let core = try await open()
        let draft = try await core.drafts().create(edits: [.service(serviceCode: "pothole")])
        async let adding = core.photos().add(draftId: draft.id, sourcePath: camera)
        for text in ["D", "De", "Dee", "Deep pothole"] {
            _ = try await core.drafts().edit(id: draft.id, edits: [.description(text: text)])
        }
        let added = try await adding
        _ = try await core.drafts().edit(id: draft.id, edits: [.description(text: "Deep pothole!")])
        let saved = try await core.drafts().get(id: draft.id)
        XCTAssertEqual(saved.fields.photos, [added.path], "the photo survived every autosave")
        XCTAssertEqual(saved.fields.description, "Deep pothole!")
    }

    func testAnUnusableDataDirectoryIsAStorageError() async throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("a-file")
        try Data("not a directory".utf8).write(to: file)
        do {
            _ = try await CurbsideCore.open(config: CurbsideConfig(dataDir: file.appendingPathComponent("data").path))
            XCTFail("opened inside a file")
        } catch let ApiError.Storage(code, reason) {
            XCTAssertTrue(reason.contains("data directory"), reason)
            XCTAssertEqual(code, .dataDir, "not a full disk, not a newer database")
        }
    }
}
