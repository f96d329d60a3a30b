/// The numeric formats a matrix or vector unit can work in.
public enum DataType: String, Sendable, CaseIterable, Comparable {
    case fp64, fp32, tf32, bf16, fp16, fp8, int8, int4

    /// Bytes per element in memory (tf32 is stored as fp32; int4 packs two per byte).
    public var bytes: Double {
        switch self {
        case .fp64: return 8
        case .fp32, .tf32: return 4
        case .bf16, .fp16: return 2
        case .fp8, .int8: return 1
        case .int4: return 0.5
        }
    }

    public var isInteger: Bool { self == .int8 || self == .int4 }

    public static func < (a: DataType, b: DataType) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
