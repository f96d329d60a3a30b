import ArgumentParser
import Chips
import Config
import Foundation
import Reports
import Sweeps

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML report (SVG charts, a table under each) of a stored run, a sweep, or runs compared.",
        discussion: """
            xpusim report RUN -o FILE           a run: summary, roofline, time by op, longest kernels,
                                                power / temperature / clock over time, collectives on links
            xpusim report SPEC.yaml -o FILE     a sweep (its spec): the Pareto front and the sensitivities
            xpusim report --compare RUN RUN... -o FILE
                                                runs side by side: time, tokens/s, tokens/J, cost per M tokens

            RUN is a stored run's id (xpusim runs list). The page is one self-contained file: styles
            inline, no script, nothing loaded from the network. Examples: reports/ in the repository.
            """)

    @Argument(help: "A run id, or a sweep spec (YAML); with --compare, two or more run ids.") var subjects: [String]
    @Flag(help: "Compare the given runs.") var compare = false
    @Option(name: [.short, .customLong("output")], help: "The HTML file to write.") var output: String
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var cost: CostOptions

    func validate() throws {
        if subjects.isEmpty { throw ValidationError("give a run id, a sweep spec, or --compare and two or more run ids") }
        if compare && subjects.count < 2 { throw ValidationError("--compare needs at least two run ids") }
        if !compare && subjects.count > 1 { throw ValidationError("one run id or sweep spec (or --compare RUN RUN...)") }
        if compare || !Self.isSpec(subjects[0]) {
            for s in subjects where Int64(s) == nil || Int64(s)! < 1 {
                throw ValidationError("\"\(s)\" is not a run id (a positive integer; xpusim runs list) nor a sweep spec (.yaml)")
            }
        }
    }

    static func isSpec(_ s: String) -> Bool { s.hasSuffix(".yaml") || s.hasSuffix(".yml") }

    func run() throws {
        let chips = chipsDir ?? ChipCatalog.defaultDirectory()
        let store = try openStore(database)
        let page: Page
        do {
            if compare {
                page = try Reports.compare(subjects.map { Int64($0)! }, store: store, chips: chips, cost: cost.assumptions)
            } else if Self.isSpec(subjects[0]) {
                let plan: SweepPlan
                do {
                    plan = try SweepPlan.expand(
                        try SweepSpec.load(file: subjects[0]), toolVersion: XPUSim.configuration.version, chips: chips)
                } catch let error as SweepError { throw ValidationError(error.description) }
                page = try Reports.sweep(plan, store: store)
            } else {
                page = try Reports.run(Int64(subjects[0])!, store: store, chips: chips)
            }
        } catch let error as ReportError {
            throw ValidationError(error.description)
        }
        let folder = (output as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        } catch {
            throw ConfigError(file: folder, message: "cannot create the folder: \(error.localizedDescription)")
        }
        try writeAtomically(Data(page.html.utf8), to: output)
        let charts = page.html.components(separatedBy: "<svg ").count - 1
        print("wrote \(output): \(page.title), \(page.sections.count) section(s), \(charts) chart(s)")
    }
}
