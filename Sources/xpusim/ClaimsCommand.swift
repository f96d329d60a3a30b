import ArgumentParser
import Chips
import Estimates
import Foundation
import SimCore
import Workloads

struct ClaimsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claims",
        abstract: "Test the public claims about these chips: each with its source, its test, the simulated ratio and a verdict.",
        discussion: """
            Each claim is tested on the shipped chip, system and model files with the serving and training
            estimators (as `xpusim serve` and `xpusim train` run them). A figure is supported within its
            tolerance of what the claim says (15% unless the claim says otherwise), contradicted outside it
            (by how much is printed), untested where it rests on an estimate rather than a published number,
            and context where the claim states no number. A claim is supported when every tested figure is,
            contradicted when none is, partly otherwise.

            Examples:
              xpusim claims
              xpusim claims --id 910c-60pct-h100 --format json
            """)

    @Option(help: "Test one claim (by its id) instead of all.") var id: String?
    @Option(help: "Output format: table or json.") var format: OutputFormat = .table
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
    @Option(help: "Folder of model files (default: $XPUSIM_MODELS or ./workloads/models).") var modelsDir: String?

    func run() throws {
        let claims =
            try id.map { id in
                guard let claim = Claims.all.first(where: { $0.id == id }) else {
                    throw ValidationError("no claim \"\(id)\" (known: \(Claims.all.map(\.id).joined(separator: ", ")))")
                }
                return [claim]
            } ?? Claims.all
        let chips = chipsDir ?? ChipCatalog.defaultDirectory()
        let models = modelsDir ?? ModelCatalog.defaultDirectory()
        let results = try claims.map { try $0.evaluate(chips, models) }
        if format == .json {
            printJSON([
                "claims": results.map { r -> [String: Any] in
                    [
                        "id": r.id, "claim": r.claim, "source": r.source, "test": r.test, "verdict": r.verdict.rawValue,
                        "metrics": r.metrics.map { m -> [String: Any] in
                            var object: [String: Any] = [
                                "name": m.name, "simulated": m.simulated, "verdict": m.verdict.rawValue, "note": m.note,
                                "claimed": m.claimed.map { $0 as Any } ?? NSNull(),
                            ]
                            if let d = m.deviation { object["deviation"] = d }
                            if m.claimed != nil { object["tolerance"] = m.tolerance }
                            return object
                        },
                    ]
                }
            ])
            return
        }
        var blocks: [String] = []
        for r in results {
            var table = TextTable(["figure", "claimed", "simulated", "verdict", "note"], numeric: [1, 2])
            for m in r.metrics {
                let verdict = m.verdict == .contradicted ? "contradicted (\(signedPercent(m.deviation ?? 0)))" : m.verdict.rawValue
                table.add([m.name, m.claimed.map { formatNumber($0) } ?? "-", formatNumber(m.simulated), verdict, m.note])
            }
            blocks.append(
                [
                    "\(r.id): \(r.verdict.rawValue)", "  claim   \(r.claim)", "  source  \(r.source)", "  test    \(r.test)", "",
                    table.rendered,
                ].joined(separator: "\n"))
        }
        print(blocks.joined(separator: "\n\n"))
    }

    func signedPercent(_ x: Double) -> String { String(format: "%+.0f%%", x * 100) }
}
