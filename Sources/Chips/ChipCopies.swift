import Config
import Foundation
import SimCore

extension ChipDocument {
    /// Figures written `{same_as: CHIP, how: ...}` take the origin chip's value at the same path
    /// (times this chip's / the origin's `scaled_by` figure, where given), with the origin's kind and
    /// source, so a refit of the origin propagates; `origin` says where the value came from.
    /// `lookup` gives a chip's document by id. Errors name the copying figure.
    public func resolvingCopies(_ lookup: (String) throws -> ChipDocument?) throws -> ChipDocument {
        try resolvingCopies(lookup, chain: [])
    }

    var hasUnresolvedCopies: Bool { figures.values.contains { $0.sameAs != nil && $0.origin == nil } }

    /// The document with its scaled copies marked unresolved again (their basis may have been
    /// overridden since they were resolved, as a catalogue's documents are resolved when read).
    func unresolvingScaledCopies() -> ChipDocument {
        var copy = self
        for (path, figure) in figures where figure.scaledBy != nil && figure.origin != nil {
            var f = figure
            f.origin = nil
            copy.figures[path] = f
        }
        return copy
    }

    func resolvingCopies(_ lookup: (String) throws -> ChipDocument?, chain: [String]) throws -> ChipDocument {
        guard hasUnresolvedCopies else { return self }
        var copy = self
        var errors: [ConfigError] = []
        for (path, figure) in figures.sorted(by: { $0.key < $1.key }) {
            guard let originID = figure.sameAs, figure.origin == nil else { continue }
            func fail(_ message: String) { errors.append(ConfigError(file: figure.file, line: figure.line, path: path, message: message)) }
            if originID == id || chain.contains(originID) {
                fail("same_as: \(originID) makes a cycle of copies (\((chain + [id, originID]).joined(separator: " -> ")))")
                continue
            }
            guard let found = try lookup(originID) else {
                fail("same_as: no chip with id \"\(originID)\"")
                continue
            }
            let origin = try found.resolvingCopies(lookup, chain: chain + [id])
            guard var resolved = origin.figures[path], case .number(let value) = resolved.value else {
                fail("same_as: \(originID) has no figure \(path) to copy")
                continue
            }
            var note = "\(originID) (\(resolved.file)\(resolved.line.map { ":\($0)" } ?? ""))"
            if let scale = figure.scaledBy {
                guard let mine = figures[scale]?.value.number, let theirs = origin.figures[scale]?.value.number, mine.isFinite,
                    theirs > 0
                else {
                    fail("scaled_by: \(scale) must be a number on both \(id) and \(originID)")
                    continue
                }
                resolved.value = .number(value * mine / theirs)
                resolved.kind = .derived
                note += " x \(scale) ratio \(formatNumber(mine / theirs))"
            }
            resolved.how = figure.how
            resolved.file = figure.file
            resolved.line = figure.line
            resolved.sameAs = originID
            resolved.scaledBy = figure.scaledBy
            resolved.origin = note
            copy.figures[path] = resolved
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return copy
    }
}
