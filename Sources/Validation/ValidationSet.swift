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
    /// A check row whose simulated kernel is identical to a calibration row's: it counts as
    /// calibration (where it was fitted), never on both sides.
    public var twin = false

    /// What the simulator sees of the row: two rows with equal signatures are the same kernel to
    /// the model, whatever their labels or ids.
    public var signature: Signature {
        Signature(
            ops: ([kernel] + followers).map(\.op), dtypes: ([kernel] + followers).map(\.dtype),
            inputsInL2: ([kernel] + followers).map(\.inputsInL2), activity: ([kernel] + followers).map(\.activity),
            compiledCall: compiledCall)
    }

    public struct Signature: Hashable, Sendable {
        var ops: [Op]
        var dtypes: [DataType]
        var inputsInL2: [Bool?]
        /// Operand activity sets the power-limited clock, so it is part of what the model sees.
        var activity: [Double]
        var compiledCall: Bool
    }
}

/// What a measurement harness adds to each row: host time around the call (Python dispatch, the
/// launch, the synchronise), by the path the op was called through. Not a chip figure.
public struct Harness: Sendable, Equatable {
    /// An eager PyTorch op.
    public var eager: Double
    /// A `torch.compile`d function: its guard checks and generated wrapper come on top.
    public var compiled: Double
    /// A matrix product's call into the BLAS library, on top of the op's: PyTorch's matmul path
    /// takes a cuBLAS handle and workspace, checks the precision settings and has cuBLAS choose
    /// its kernel on every call (pytorch/pytorch#161822 times a steady stream of 512 x 512 bf16
    /// `torch.matmul` calls at 8.3-8.6 us each, host-bound, where element-wise ops issue faster).
    public var library: Double
    public init(eager: Double = 0, compiled: Double = 0, library: Double = 0) {
        self.eager = eager
        self.compiled = compiled
        self.library = library
    }
    public func overhead(_ row: ValidationRow) -> Double {
        let call = row.compiledCall ? compiled : eager
        switch row.kernel.op {
        case .gemm, .groupedGemm: return call + library
        default: return call
        }
    }
    public var isZero: Bool { eager == 0 && compiled == 0 && library == 0 }
}

/// A measured data set (its digest under chips/measured/), rebuilt into kernels.
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
    /// Why the set has no check part, where every row set some figure (fit, cap, rate).
    public var noCheck: String?
    /// Figures that rest on a single row of this set, per chip file: what a user should trust least.
    public var singleRowFigures: String?
    /// Reads the digest into rows with the set's own split rule; ``load(_:)`` applies the twin rule on top.
    public var read: @Sendable (_ directory: String) throws -> [ValidationRow]

    public init(
        id: String, title: String, chip: String, provenance: String, splitRule: String, harness: Harness = Harness(),
        noCheck: String? = nil, singleRowFigures: String? = nil, read: @escaping @Sendable (_ directory: String) throws -> [ValidationRow]
    ) {
        self.id = id
        self.title = title
        self.chip = chip
        self.provenance = provenance
        self.splitRule = splitRule
        self.harness = harness
        self.noCheck = noCheck
        self.singleRowFigures = singleRowFigures
        self.read = read
    }

    /// The set's rows: its split rule, then the twin rule (a check row identical to a calibration
    /// kernel moves to calibration), so no kernel sits on both sides.
    public func load(_ directory: String) throws -> [ValidationRow] { Self.separatingTwins(try read(directory)) }

    /// The twin rule over any rows, e.g. the rows of several sets one fit joins.
    public static func separatingTwins(_ rows: [ValidationRow]) -> [ValidationRow] {
        let fitted = Set(rows.filter { $0.split == .calibration }.map(\.signature))
        return rows.map { row in
            guard row.split == .check, fitted.contains(row.signature) else { return row }
            var moved = row
            moved.split = .calibration
            moved.twin = true
            return moved
        }
    }

    /// All sets this xpusim knows, by id.
    public static let all: [ValidationSet] = [
        VidurSet.h100, LLMCompassSet.a100, DeepGEMMSet.h800, AzureSet.h100, FlagPerfSet.ascend910b, FlagPerfSet.a100,
        FlashAttentionSet.h100, FlashAttentionSet.a100, FlashAttentionSet.h200,
    ]

    public static func named(_ id: String) -> ValidationSet? { all.first { $0.id == id } }

    /// The measured digest: `$XPUSIM_MEASURED`, else `chips/measured` beside the working directory or the package
    /// (written from ../shared/validation by scripts/make-digest.py).
    public static func defaultDirectory() -> String {
        if let env = ProcessInfo.processInfo.environment["XPUSIM_MEASURED"], !env.isEmpty { return env }
        return ResourceLocator.find("chips") + "/measured"
    }
}

/// Errors in a validation data file name the file and the row.
public struct ValidationDataError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var row: Int?
    public var message: String
    public var description: String { "\(file)\(row.map { ":\($0)" } ?? ""): \(message)" }
}

/// One data row of a CSV file, with the line it stands on (comments and the header counted).
struct CSVRow {
    var fields: [String]
    var line: Int
    subscript(_ index: Int) -> String { fields[index] }
    var count: Int { fields.count }
}

/// A minimal CSV reader for the measured digests (quoted fields, commas, no embedded newlines).
enum CSV {
    static func read(_ path: String, header: Bool = true) throws -> (header: [String], rows: [CSVRow]) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationDataError(
                file: path, message: "cannot read the file (the digest under chips/measured/ is regenerated by scripts/make-digest.py)")
        }
        // Lines starting with # are provenance comments.
        var rows: [CSVRow] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            rows.append(CSVRow(fields: split(String(line.trimmingCharacters(in: .newlines))), line: index + 1))
        }
        let head = header && !rows.isEmpty ? rows.removeFirst().fields : []
        return (head, rows)
    }

    /// A digest file as a table: its complete rows, and its columns looked up by name.
    struct Table {
        var file: String
        var header: [String]
        /// Rows with one field per column (a short or long row is skipped, as a note line would be).
        var rows: [CSVRow]
        func column(_ name: String) throws -> Int { try CSV.column(name, in: header, file: file) }
    }

    static func table(_ file: String) throws -> Table {
        let (header, rows) = try read(file)
        return Table(file: file, header: header, rows: rows.filter { $0.count == header.count })
    }

    /// The index of the column `name` in `header`, or an error naming the file and the column.
    static func column(_ name: String, in header: [String], file: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else { throw ValidationDataError(file: file, message: "no column \"\(name)\"") }
        return index
    }

    static func split(_ line: String) -> [String] { CSVLine.fields(line) }

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
