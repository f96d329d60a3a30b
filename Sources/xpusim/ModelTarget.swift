import ArgumentParser
import Chips
import Foundation
import Workloads

/// A model and what it runs on (a system with its nodes, or one chip), with the folders they are
/// read from (shared by serve and train).
struct ModelTarget: ParsableArguments {
    @Option(help: "A model id from `xpusim workload models`, or the path of a model file or a Hugging Face config.json.")
    var model: String
    @Option(help: "A system id from `xpusim systems list`, or the path of a system file.") var system: String?
    @Option(help: "Nodes of the system (with --system).") var nodes: Int?
    @Option(help: "One chip (a single-device run) instead of --system.") var chip: String?
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
    @Option(help: "Folder of model files (default: $XPUSIM_MODELS or ./workloads/models).") var modelsDir: String?

    func validate() throws {
        guard (chip == nil) != (system == nil) else { throw ValidationError("give either --system or --chip") }
        if nodes != nil && system == nil { throw ValidationError("--nodes goes with --system") }
        if let nodes, nodes < 1 { throw ValidationError("--nodes must be at least 1") }
    }

    var chipsDirectory: String { chipsDir ?? ChipCatalog.defaultDirectory() }

    /// The model file, its unused fields named on standard error.
    func modelFile() throws -> ModelFile {
        let file = try ModelCatalog.resolve(model, directory: modelsDir ?? ModelCatalog.defaultDirectory())
        for warning in file.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        return file
    }
}
