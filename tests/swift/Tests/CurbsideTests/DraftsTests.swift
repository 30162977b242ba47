import Curbside
import Foundation
import XCTest

/// The draft scenario of core/tests/drafts.rs, through the generated Swift API.
final class DraftsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func open() throws -> CurbsideCore { try CurbsideCore(dataDir: dir.path) }

    private func gps(latitude: Double = 38.8895, longitude: Double = -77.0353,
                     accuracyM: Double? = 4.5, source: LocationSource = .gps) -> Location {
        Location(latitude: latitude, longitude: longitude, accuracyM: accuracyM, source: source,
                 capturedAt: Date(timeIntervalSince1970: 1_795_775_400))
    }

    private func pothole(_ location: Location? = nil) -> DraftFields {
        DraftFields(serviceCode: "pothole", location: location ?? gps(),
                    description: "Deep pothole in the bike lane")
    }

    func testDraftsSurviveReopeningAndCanBeUpdatedAndDeleted() async throws {
        var core = try open()
        let created = try await core.createDraft(fields: pothole())
        _ = try await core.createDraft(fields: DraftFields(serviceCode: nil, location: nil, description: "Street light out"))

        core = try open()
        let listed = try await core.listDrafts()
        XCTAssertEqual(listed.count, 2)
        XCTAssertEqual(listed[1], created, "oldest last, and read back exactly")
        XCTAssertEqual(listed[0].fields.description, "Street light out")
        XCTAssertNil(listed[0].fields.location)

        let changed = DraftFields(serviceCode: "pothole", location: gps(accuracyM: nil, source: .manualPin),
                                  description: "Pothole, now two of them")
        let updated = try await core.updateDraft(id: created.id, fields: changed)
        XCTAssertEqual(updated.fields, changed)
        XCTAssertEqual(updated.createdAt, created.createdAt)
        XCTAssertGreaterThanOrEqual(updated.updatedAt, created.updatedAt)

        core = try open()
        let reread = try await core.getDraft(id: created.id)
        XCTAssertEqual(reread.fields.description, "Pothole, now two of them")
        try await core.deleteDraft(id: created.id)
        let remaining = try await core.listDrafts()
        XCTAssertEqual(remaining.count, 1)
        let afterReopen = try await open().listDrafts()
        XCTAssertEqual(afterReopen.count, 1)
    }

    func testInvalidInputNamesTheFieldAndSavesNothing() async throws {
        let core = try open()
        let saved = try await core.createDraft(fields: pothole())
        let cases: [(Double, Double, String)] = [
            (200, 0, "location.latitude"),
            (.nan, 0, "location.latitude"),
            (0, .nan, "location.longitude"),
        ]
        for (latitude, longitude, field) in cases {
            let bad = pothole(gps(latitude: latitude, longitude: longitude))
            do {
                _ = try await core.createDraft(fields: bad)
                XCTFail("\(field): create accepted")
            } catch let ApiError.InvalidInput(name, _) {
                XCTAssertEqual(name, field)
            }
            do {
                _ = try await core.updateDraft(id: saved.id, fields: bad)
                XCTFail("\(field): update accepted")
            } catch ApiError.InvalidInput {}
        }
        let listed = try await core.listDrafts()
        XCTAssertEqual(listed, [saved])
    }

    func testUnknownIdsAreNotFoundAndMalformedIdsAreInvalid() async throws {
        let core = try open()
        let saved = try await core.createDraft(fields: pothole())
        try await core.deleteDraft(id: saved.id)
        await assertNotFound { _ = try await core.getDraft(id: saved.id) }
        await assertNotFound { _ = try await core.updateDraft(id: saved.id, fields: self.pothole()) }
        await assertNotFound { try await core.deleteDraft(id: saved.id) }
        do {
            _ = try await core.getDraft(id: "42")
            XCTFail("a malformed id was accepted")
        } catch let ApiError.InvalidInput(field, _) {
            XCTAssertEqual(field, "id")
        }
    }

    func testAnUnusableDataDirectoryIsAStorageError() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("a-file")
        try Data("not a directory".utf8).write(to: file)
        XCTAssertThrowsError(try CurbsideCore(dataDir: file.appendingPathComponent("data").path)) { error in
            guard case let ApiError.Storage(reason) = error else {
                return XCTFail("expected Storage, got \(error)")
            }
            XCTAssertTrue(reason.contains("data directory"), reason)
        }
    }

    private func assertNotFound(_ body: () async throws -> Void, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected NotFound", line: line)
        } catch ApiError.NotFound {
        } catch {
            XCTFail("expected NotFound, got \(error)", line: line)
        }
    }
}
