import Curbside
import CurbsideSampleCore
import SwiftUI

@main
struct CurbsideSampleApp: App {
    var body: some Scene {
        WindowGroup { DraftsView() }
    }
}

/// One screen: a button that saves a draft, and the list of saved drafts.
struct DraftsView: View {
    @State private var state = DraftsModel.State()
    @State private var model: DraftsModel?

    var body: some View {
        NavigationStack {
            List(state.drafts, id: \.id) { draft in
                VStack(alignment: .leading) {
                    Text(draft.fields.serviceCode ?? "No service yet").font(.headline)
                    Text(draft.fields.description)
                }
            }
            .overlay(alignment: .bottom) { if let error = state.error { Text(error).foregroundStyle(.red) } }
            .toolbar {
                Button("Save a draft") {
                    Task { await model?.save(id: nil, edits: [.service(serviceCode: "pothole"), .description(text: "Pothole")]) }
                }
            }
            .navigationTitle("Drafts")
        }
        .task {
            // The app owns the path: Curbside keeps its database in Application Support.
            let dir = URL.applicationSupportDirectory.appending(path: "curbside")
            guard let core = try? await CurbsideCore.open(config: CurbsideConfig(dataDir: dir.path)) else { return }
            let model = DraftsModel(drafts: core.drafts())
            model.onChange = { state = $0 }
            self.model = model
            await model.refresh()
        }
    }
}
