import CacheCodecs
import RibbonCache

/// One input of the `hitlog` fuzz target: what a cache directory's hit logs hold — whole
/// records with any values, records torn part-way, and raw bytes — spread over `hits.log` and
/// a folding file a crashed process left (`hits.log.folding-PID-N`), plus what the counters
/// held before (as the old code could leave them).
///
/// Layout: one byte of flags, then pieces, each a tag byte (its value mod 4) and its operands:
///
///     0  raw      n (u8), n bytes                     copied as they are
///     1  record   key (u8), time (i64), saved (i64)   a whole record, checksum and all
///     2  torn     key, time, saved, cut (u8)          the first cut mod 64 bytes of one
///     3  switch                                       later pieces go to the other file
///
/// Key 0 is the cached unit's, 1 a second unit's (stored by the `store` path), any other
/// the hash of that byte (no unit). A piece cut short by the end of the input is raw bytes.
/// Flags: bit 0, write the folding file even when no piece went there; bits 1–2, the counters
/// before (`Counters`); bits 3–4, the command that folds (`Fold`).
package struct HitLogInput: Equatable {
    package enum Counters: Int, CaseIterable { case none, oldBuild, nearlyFull, small }
    package enum Fold: Int, CaseIterable { case counters, statistics, store, garbageCollection }

    package var flags: UInt8 = 0
    package var log: [UInt8] = []
    package var folding: [UInt8] = []
    /// Whole records written, in either file (each must be counted).
    package var wholeRecords = 0
    /// Bytes of raw and torn pieces: at most one record per 64 of them can appear.
    package var damagedBytes = 0
    /// Raw pieces: each could hide one whole record after it, if it were a forged record
    /// reaching into it (libFuzzer learns compared bytes; a torn piece cannot).
    package var rawPieces = 0

    package var counters: Counters { Counters(rawValue: Int(flags >> 1) & 3)! }
    package var fold: Fold { Fold(rawValue: Int(flags >> 3) & 3)! }
    package var writesFoldingFile: Bool { flags & 1 != 0 || !folding.isEmpty }

    package static let unitKey = SHA256.hash(Array("hit log fuzz unit".utf8))
    package static let secondKey = SHA256.hash(Array("hit log fuzz unit 2".utf8))

    package static func key(_ selector: UInt8) -> SHA256Digest {
        switch selector {
        case 0: unitKey
        case 1: secondKey
        default: SHA256.hash([selector])
        }
    }

    package init(decoding bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        flags = first
        var at = 1
        var toFolding = false
        func put(_ piece: [UInt8]) {
            if toFolding { folding += piece } else { log += piece }
        }
        func i64(_ offset: Int) -> Int64 {
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            return Int64(bitPattern: value)
        }
        func damaged(_ piece: [UInt8], raw: Bool = true) {
            put(piece)
            if raw { rawPieces += 1 }
            damagedBytes += piece.count
        }
        while at < bytes.count {
            let tag = bytes[at] % 4
            at += 1
            switch tag {
            case 0:
                let n = at < bytes.count ? Int(bytes[at]) : 0
                let start = min(at + 1, bytes.count)
                let end = min(start + n, bytes.count)
                damaged(Array(bytes[start..<end]))
                at = end
            case 1, 2:
                let size = tag == 1 ? 17 : 18
                guard bytes.count - at >= size else {
                    damaged(Array(bytes[at...]))
                    at = bytes.count
                    continue
                }
                let record = CacheStore.hitRecord(key: Self.key(bytes[at]), time: i64(at + 1), savedMicroseconds: i64(at + 9))
                if tag == 1 {
                    put(record)
                    wholeRecords += 1
                } else {
                    damaged(Array(record.prefix(Int(bytes[at + 17]) % record.count)), raw: false)
                }
                at += size
            default:
                toFolding.toggle()
            }
        }
    }

    /// Pieces, to write seeds with.
    package enum Piece {
        case raw([UInt8])
        case record(key: UInt8, time: Int64, saved: Int64)
        case torn(key: UInt8, time: Int64, saved: Int64, cut: UInt8)
        case switchFile
    }

    package static func encode(flags: UInt8, _ pieces: [Piece]) -> [UInt8] {
        var out = [flags]
        func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        for piece in pieces {
            switch piece {
            case .raw(let bytes):
                out += [0, UInt8(min(bytes.count, 255))] + bytes.prefix(255)
            case .record(let key, let time, let saved):
                out += [1, key]
                i64(time)
                i64(saved)
            case .torn(let key, let time, let saved, let cut):
                out += [2, key]
                i64(time)
                i64(saved)
                out.append(cut)
            case .switchFile:
                out.append(3)
            }
        }
        return out
    }

    static func flags(foldingFile: Bool = false, counters: Counters = .none, fold: Fold = .counters) -> UInt8 {
        (foldingFile ? 1 : 0) | UInt8(counters.rawValue) << 1 | UInt8(fold.rawValue) << 3
    }

    /// What the seeds hold: the damage of issue 12 (a torn record before good ones, garbage,
    /// 2⁶³−1 µs several times, negative and absurd values and times, the unframed 48-byte
    /// records of earlier builds, a folding file left by a crash with the same), under every
    /// starting state of the counters and through every command that folds.
    package static var seeds: [[UInt8]] {
        let now: Int64 = 1_780_000_000
        var old48: [UInt8] = []  // the format before records were framed
        for saved in [Int64.max, 100] {
            old48 += unitKey.bytes
            withUnsafeBytes(of: now.littleEndian) { old48 += $0 }
            withUnsafeBytes(of: saved.littleEndian) { old48 += $0 }
        }
        let garbage = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
        let shapes: [[Piece]] = [
            [.record(key: 0, time: now, saved: 1200), .record(key: 0, time: now + 1, saved: 800)],
            [.record(key: 0, time: now, saved: 100), .torn(key: 0, time: now, saved: 200, cut: 30),
             .record(key: 0, time: now, saved: 300), .record(key: 1, time: now, saved: 400)],
            [.raw(garbage), .record(key: 0, time: now, saved: 5), .raw(Array(garbage.prefix(77))),
             .record(key: 7, time: now, saved: 6)],
            [.record(key: 0, time: now, saved: .max), .record(key: 0, time: now, saved: .max),
             .record(key: 0, time: now, saved: .max - 1), .record(key: 0, time: now, saved: .min),
             .record(key: 0, time: now, saved: -1)],
            [.record(key: 0, time: .max, saved: 1), .record(key: 0, time: .min, saved: 1), .record(key: 1, time: -1, saved: 1),
             .record(key: 0, time: 0, saved: 0)],
            [.raw(old48), .record(key: 0, time: now, saved: 9), .raw(Array(old48.prefix(50)))],
            [.switchFile, .raw(Array(garbage.prefix(13))), .record(key: 0, time: now, saved: .max),
             .torn(key: 0, time: now, saved: 7, cut: 20), .record(key: 0, time: now, saved: 7), .switchFile,
             .record(key: 0, time: now, saved: 7)],
            [.torn(key: 0, time: now, saved: 1, cut: 63)],
            [],
        ]
        var inputs: [[UInt8]] = []
        for (i, shape) in shapes.enumerated() {
            for counters in Counters.allCases {
                let fold = Fold.allCases[(i + counters.rawValue) % Fold.allCases.count]
                inputs.append(encode(flags: flags(foldingFile: i % 2 == 1, counters: counters, fold: fold), shape))
            }
        }
        return inputs
    }
}
