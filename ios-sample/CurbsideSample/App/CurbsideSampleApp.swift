import Curbside
import CurbsideApple
import CurbsideSampleCore
import CoreLocation
import MapKit
import PhotosUI
import SwiftUI

/// The city this build is for: its profile ships in the app (city.json, the white-label
/// configuration) and its key comes from the Keychain or the build settings, never the disk.
enum City {
    static let id = "bikeville"
    static var profile: String {
        Bundle.main.url(forResource: "city", withExtension: "json")
            .flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
    }
    static var apiKey: String { Bundle.main.object(forInfoDictionaryKey: "CityApiKey") as? String ?? "" }
}

/// The app's one Curbside (one per process), opened off the main thread at launch.
@MainActor @Observable
final class AppModel {
    static let shared = AppModel()
    private(set) var core: CurbsideCore?
    private(set) var problem: String?
    private var network: NetworkHint?

    /// The codes in the device's language, from the package's string catalog (read once).
    let texts: CurbsideTexts? = try? CurbsideTexts.bundled(
        language: Locale.current.language.languageCode?.identifier ?? "en")

    func open() async {
        guard core == nil else { return }
        let dir = URL.applicationSupportDirectory.appending(path: "curbside")
        do {
            let core = try await CurbsideCore.open(config: CurbsideConfig(
                dataDir: dir.path, appName: "CurbsideSample/1.0",
                profiles: [City.profile], apiKeys: [City.id: City.apiKey]))
            network = NetworkHint(outbox: core.outbox())
            self.core = core
        } catch {
            problem = "Reports cannot be saved on this device now (\(error))."
        }
    }
}

@main
struct CurbsideSampleApp: App {
    @Environment(\.scenePhase) private var phase

    init() {
        BackgroundSending.register { await AppModel.shared.core?.outbox() }
    }

    var body: some Scene {
        WindowGroup {
            RootView().task { await AppModel.shared.open() }
        }
        .onChange(of: phase) { _, now in if now == .background { BackgroundSending.schedule() } }
    }
}

struct RootView: View {
    private let app = AppModel.shared

    var body: some View {
        NavigationStack {
            if let core = app.core, let texts = app.texts {
                ServicesView(model: ServicesModel(core: core, city: City.id), core: core, texts: texts)
            } else {
                Text(app.problem ?? "Opening…")
            }
        }
    }
}

/// The city's services; a tap starts a report.
struct ServicesView: View {
    @State var model: ServicesModel
    let core: CurbsideCore
    let texts: CurbsideTexts
    @State private var report: ReportModel?

    var body: some View {
        List {
            if model.stale { Text("Offline: this list may be out of date.").foregroundStyle(.secondary) }
            if let problem = model.problem { Text(problem).foregroundStyle(.red) }
            ForEach(model.services, id: \.code) { service in
                Button(service.name) { Task { report = try? await model.start(service, texts: texts) } }
            }
        }
        .navigationTitle("Bikeville 311")
        .toolbar {
            NavigationLink("My reports") { OutboxView(model: OutboxModel(core: core, city: City.id, texts: texts)) }
        }
        .navigationDestination(item: $report) { ReportView(model: $0) }
        .task { await model.load() }
    }
}

/// One report: the questions by datatype, where it is (the device, or the pin at the map's
/// centre), a photo, what is already reported nearby, and send.
struct ReportView: View {
    @State var model: ReportModel
    @State private var text = ""
    @State private var picked: PhotosPickerItem?
    @State private var camera = MapCameraPosition.automatic
    @State private var pin = CLLocationCoordinate2D(latitude: 0, longitude: 0)
    @Environment(\.dismiss) private var dismiss
    private let locator = CLLocationManager()

    var body: some View {
        Form {
            Section("What") {
                ForEach(model.questions, id: \.code) { question($0) }
                TextField("What is wrong?", text: $text, axis: .vertical)
                    .onSubmit { Task { try? await model.describe(text) } }
            }
            Section("Where") {
                Map(position: $camera) {
                    if let here = model.location {
                        Marker("Here", coordinate: .init(latitude: here.latitude, longitude: here.longitude))
                    }
                    ForEach(model.nearby, id: \.request.id) { near in
                        if let lat = near.request.latitude, let lon = near.request.longitude {
                            Marker(near.request.serviceName ?? "Reported", coordinate: .init(latitude: lat, longitude: lon))
                                .tint(.orange)
                        }
                    }
                }
                .frame(height: 220)
                .onMapCameraChange(frequency: .onEnd) { context in pin = context.region.center }
                Button("Use my location") { locate() }
                Button("Put the pin at the map's centre") {
                    Task {
                        try? await model.place(Location(latitude: pin.latitude, longitude: pin.longitude,
                                                        accuracyM: nil, source: .manualPin, capturedAt: .now))
                    }
                }
                if !model.nearby.isEmpty { Text("Already reported nearby: \(model.nearby.count)").foregroundStyle(.orange) }
            }
            Section("Photo") {
                PhotosPicker("Add a photo", selection: $picked, matching: .images)
                Text("\(model.photos.count) photo(s)")
            }
            ForEach(model.issues, id: \.self) { Text($0).foregroundStyle(.red) }
            Button("Send to the city") {
                Task {
                    try? await model.describe(text)
                    if (try? await model.submit()) != nil {
                        BackgroundSending.schedule()
                        dismiss()
                    }
                }
            }
        }
        .onAppear { text = model.description }
        .onChange(of: picked) { _, item in Task { await add(item) } }
    }

    @ViewBuilder private func question(_ q: Attribute) -> some View {
        let current = model.answers[q.code] ?? []
        switch q.datatype {
        case .singleValueList:
            Picker(q.description, selection: Binding(get: { current.first ?? "" },
                                                      set: { v in Task { try? await model.answer(q.code, [v]) } })) {
                Text("—").tag("")
                ForEach(q.values, id: \.key) { Text($0.name).tag($0.key) }
            }
        case .multiValueList:
            ForEach(q.values, id: \.key) { value in
                Toggle(value.name, isOn: Binding(get: { current.contains(value.key) }, set: { on in
                    Task { try? await model.answer(q.code, on ? current + [value.key] : current.filter { $0 != value.key }) }
                }))
            }
        case .datetime:
            DatePicker(q.description, selection: Binding(
                get: { current.first.flatMap { try? Date($0, strategy: .iso8601) } ?? .now },
                set: { d in Task { try? await model.answer(q.code, [d.ISO8601Format()]) } }))
        default:
            TextField(q.description, text: Binding(get: { current.first ?? "" },
                                                   set: { v in Task { try? await model.answer(q.code, [v]) } }))
                .keyboardType(q.datatype == .number ? .decimalPad : .default)
        }
    }

    private func locate() {
        locator.requestWhenInUseAuthorization()
        guard let fix = locator.location else { return }
        Task {
            try? await model.place(Location(latitude: fix.coordinate.latitude, longitude: fix.coordinate.longitude,
                                            accuracyM: fix.horizontalAccuracy, source: .gps, capturedAt: fix.timestamp))
        }
    }

    /// The picked image, written to a temporary file for the pipeline (which makes the copy sent).
    private func add(_ item: PhotosPickerItem?) async {
        guard let data = try? await item?.loadTransferable(type: Data.self) else { return }
        let file = FileManager.default.temporaryDirectory.appending(path: UUID().uuidString)
        try? data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try? await model.addPhoto(at: file.path)
    }
}

/// The outbox: each report, where it is, and what the user can do.
struct OutboxView: View {
    @State var model: OutboxModel
    @State private var fixing: ReportModel?

    var body: some View {
        List(model.reports, id: \.id) { report in
            VStack(alignment: .leading) {
                Text(report.description).font(.headline)
                Text(model.status(of: report)).font(.subheadline)
                switch model.action(for: report) {
                case .editAndResubmit?: Button("Fix and send again") { Task { fixing = try? await model.fix(report) } }
                case .confirmPossibleDuplicate?: Button("It did not arrive: send again") { Task { try? await model.sendAgain(report) } }
                default: EmptyView()
                }
            }
        }
        .navigationTitle("My reports")
        .navigationDestination(item: $fixing) { ReportView(model: $0) }
        .refreshable { _ = try? await AppModel.shared.core?.outbox().syncNow() }
        .onAppear { model.start() }
        .onDisappear { model.stop() }
    }
}
