import Chips
import Config
import Foundation
import Workloads

/// Which part of a data set a row belongs to: the part parameters are fitted on, or the part
/// they are judged on.
public enum Split: String, Sendable, CaseIterable {
    case calibration, check
}

/// One measured point: a kernel as it was run, and how long it took on real hardware.
public struct ValidationRow: Sendable {
    public var label: String
    public var kernel: Kernel
    /// Further kernels the measured op launched, one after another; a profiler that sums kernel
    /// durations (Kineto) reports their sum.
    public var followers: [Kernel] = []
    /// Measured through a `torch.compile`d function rather than an eager op (see ``Harness``).
    public var compiledCall = false
    /// Measured time in seconds.
    public var measured: Double
    /// Regime for the error summary: "gemm compute-bound", "gemm memory-bound", "elementwise", "norm", ...
    public var regime: String
    public var split: Split
}

/// What a measurement harness adds to each row: host time around the call (Python dispatch, the
/// launch, the synchronise), by the path the op was called through. Not a chip figure.
public struct Harness: Sendable, Equatable {
    /// An eager PyTorch op.
    public var eager: Double
    /// A `torch.compile`d function: its guard checks and generated wrapper come on top.
    public var compiled: Double
    public init(eager: Double = 0, compiled: Double = 0) {
        self.eager = eager
        self.compiled = compiled
    }
    public func overhead(_ row: ValidationRow) -> Double { row.compiledCall ? compiled : eager }
    public var isZero: Bool { eager == 0 && compiled == 0 }
}

/// A measured data set from ../shared/validation, rebuilt into kernels.
public struct ValidationSet: Sendable {
    public var id: String
    public var title: String
    /// The chip the measurements were taken on.
    public var chip: String
    /// What was measured, where it comes from, and how the split is made.
    public var provenance: String
    public var splitRule: String
    /// Fixed time the measurement harness adds to every row (Python dispatch and timing around a
    /// PyTorch op), fitted with `xpusim calibrate --fit harness,harness.compiled` on the calibration
    /// split. Zero for sets timed with device events.
    public var harness = Harness()
    /// Whether any figure is fitted on this set's calibration rows; false: every row checks.
    public var fitted = true
    public var load: @Sendable (_ directory: String) throws -> [ValidationRow]

    /// All sets this xpusim knows, by id.
    public static let all: [ValidationSet] = [
        VidurSet.h100, LLMCompassSet.a100, DeepGEMMSet.h800, AzureSet.h100, FlagPerfSet.ascend910b, FlashAttentionSet.h100,
        FlashAttentionSet.a100, FlashAttentionSet.h200,
    ]

    public static func named(_ id: String) -> ValidationSet? { all.first { $0.id == id } }

    /// `$XPUSIM_VALIDATION`, else `../shared/validation` beside the working directory or the package.
    public static func defaultDirectory() -> String {
        if let env = ProcessInfo.processInfo.environment["XPUSIM_VALIDATION"], !env.isEmpty { return env }
        return ResourceLocator.find("../shared/validation")
    }
}

/// Errors in a validation data file name the file and the row.
public struct ValidationDataError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var row: Int?
    public var message: String
    public var description: String { "\(file)\(row.map { ":\($0)" } ?? ""): \(message)" }
}

/// A minimal CSV reader for the validation files (quoted fields, commas, no embedded newlines).
enum CSV {
    static func read(_ path: String, header: Bool = true) throws -> (header: [String], rows: [[String]]) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationDataError(file: path, message: "cannot read the file (is ../shared/validation present? set XPUSIM_VALIDATION)")
        }
        // Lines starting with # are provenance comments (files under chips/measured/).
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }
        let head = header && !lines.isEmpty ? split(lines.removeFirst()) : []
        return (head, lines.map(split))
    }

    static func split(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        for c in line {
            if c == "\"" {
                quoted.toggle()
            } else if c == "," && !quoted {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The leading number of a field such as "206 TFLOPS" or "0.1900ms".
    static func number(_ field: String, file: String, row: Int) throws -> Double {
        let digits = field.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "E" || $0 == "+" }
        guard let value = Double(digits), value.isFinite else {
            throw ValidationDataError(file: file, row: row, message: "expected a number, found \"\(field)\"")
        }
        return value
    }
}

/// Deterministic split used by the small sets: even rows calibrate, odd rows check.
func parity(_ index: Int) -> Split { index % 2 == 0 ? .calibration : .check }

/// GEMM regime by shape, as the data sets' own descriptions draw it: small-M (at most 64 rows,
/// decode-like) GEMMs stream their weights and are memory-bound; the rest are compute-bound.
/// The rule depends only on the shape, never on the model under test.
func gemmRegime(m: Int, n: Int) -> String { min(m, n) <= 64 ? "gemm memory-bound" : "gemm compute-bound" }
