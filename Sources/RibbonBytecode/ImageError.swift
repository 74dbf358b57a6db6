import RibbonCore

/// Why a unit image could not be decoded, loaded or verified: the one error the bytecode layer
/// throws. Separate from the reader and the loader so that callers (the driver's `cache verify`,
/// the fuzzer, tests) find its cases and their wording in one place, and match on a `Reason`,
/// never on the text. Each case's `description` is the text the CLI prints.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    case badMagic
    case unsupportedVersion(UInt32)
    case truncated
    case malformed(Reason)
    case unresolvedBuiltin(String)
    case unresolvedForeign(String)
    case unresolvedImport(String)

    public var description: String {
        switch self {
        case .badMagic: "not a Ribbon unit image"
        case .unsupportedVersion(let v): "unsupported unit image version \(v)"
        case .truncated: "unit image is truncated or has an out-of-range offset"
        case .malformed(let why): "malformed unit image: \(why)"
        case .unresolvedBuiltin(let name): "unknown builtin `\(name)`"
        case .unresolvedForeign(let name): "foreign symbol `\(name)` not found"
        case .unresolvedImport(let name): "imported name `\(name)` not found"
        }
    }
}

extension ImageError {
    /// What is wrong with a malformed image: a record that contradicts another or the format,
    /// or a function the verifier rejects.
    public indirect enum Reason: Equatable, Sendable, CustomStringConvertible {
        // The header and the sections (`LoadedUnit+Decoding.swift`).
        /// A lazy image's source could not fetch (or check) a range; the source's error, as text.
        case sourceFailed(String)
        case functionPrefixTooLong
        case sectionSizesMismatch
        case reservedHeaderWordNotZero
        case cannotMap(bytes: Int)
        // AddressTable entries and globals (`LoadedUnit+Relocation.swift`).
        case unknownEntryKind(id: Int)
        case prefixEntryNotFunction(id: Int)
        case importNamesNeither(id: Int)
        case functionEntryOutsideCode(id: Int)
        case functionEntryWithoutRow(id: Int)
        case globalEntryOutOfRange(id: Int)
        case constantOutsideData(id: Int)
        case constantNotTerminated(id: Int)
        case badForeignSignature(id: Int)
        case functionEntriesMismatchRows
        case globalNotConstant(global: Int)
        case unknownGlobalInitialiser(global: Int)
        // Symbols and function rows.
        case symbolNamesBadId(name: String)
        case functionMismatchesEntry(function: String)
        case mainTakesParameters(Int)
        case functionPastCode(function: String)
        case badFrameSize(function: String)
        case badLineRows(function: String)
        case headerDisagreesWithRow(function: String)
        case functionsOverlap
        case badFunctionEntry(row: Int)
        case unreadableSignature(row: Int)
        // Kinds (`UnitKinds`).
        case idOutOfRange(id: Int)
        case importedGlobalMissing(id: Int)
        case importedFunctionMissing(id: Int)
        case noSignature(function: String)
        case parameterCountMismatch(function: String, declared: Int, actual: Int)
        case badSignature(function: String)
        // Verification (`Verifier`, `KindCheck`).
        case failedVerification(function: String)
        /// The verifier rejects the instruction at `word` of `function`.
        case rejectedWord(function: String, word: Int, Problem)

        public var description: String {
            switch self {
            case .sourceFailed(let error): "unit image: \(error)"
            case .functionPrefixTooLong: "the function prefix is longer than the functions"
            case .sectionSizesMismatch: "section sizes do not match their counts"
            case .reservedHeaderWordNotZero: "unit image header word 28 is not zero"
            case .cannotMap(let bytes): "cannot map \(bytes) bytes for the unit"
            case .unknownEntryKind(let id): "entry \(id) has an unknown kind"
            case .prefixEntryNotFunction(let id): "entry \(id) is in the function prefix but is no function"
            case .importNamesNeither(let id): "imported entry \(id) names neither a function nor a global"
            case .functionEntryOutsideCode(let id): "function entry \(id) is outside the code"
            case .functionEntryWithoutRow(let id): "function entry \(id) does not match a function row"
            case .globalEntryOutOfRange(let id): "global entry \(id) out of range"
            case .constantOutsideData(let id): "constant entry \(id) is outside the data"
            case .constantNotTerminated(let id): "constant entry \(id) is not NUL-terminated"
            case .badForeignSignature(let id): "foreign entry \(id) has a bad signature"
            case .functionEntriesMismatchRows: "function entries and function rows do not match"
            case .globalNotConstant(let g): "global \(g) refers to a non-constant"
            case .unknownGlobalInitialiser(let g): "global \(g) has an unknown initialiser kind"
            case .symbolNamesBadId(let name): "symbol `\(name)` names a bad Id"
            case .functionMismatchesEntry(let name): "function `\(name)` does not match its AddressTable entry"
            case .mainTakesParameters(let count): "function `main` takes \(count) parameters"
            case .functionPastCode(let name): "function `\(name)` runs past the code"
            case .badFrameSize(let name): "function `\(name)` has a bad frame size"
            case .badLineRows(let name): "function `\(name)` has bad line rows"
            case .headerDisagreesWithRow(let name): "function `\(name)` header disagrees with its row"
            case .functionsOverlap: "functions overlap in the code section"
            case .badFunctionEntry(let row): "function entry for row \(row) is bad"
            case .unreadableSignature(let row): "function #\(row): its signature cannot be read"
            case .idOutOfRange(let id): "Id \(id) is out of range"
            case .importedGlobalMissing(let id): "imported entry \(id) names a global its unit does not have"
            case .importedFunctionMissing(let id): "imported entry \(id) names a function its unit does not have"
            case .noSignature(let name): "function `\(name)` has no signature"
            case .parameterCountMismatch(let name, let declared, let actual):
                "function `\(name)` is declared with \(declared) parameters but has \(actual)"
            case .badSignature(let name): "function `\(name)` has a bad signature"
            case .failedVerification(let name): "function `\(name)` failed verification"
            case .rejectedWord(let name, let word, let problem): "function `\(name)`, word \(word): \(problem)"
            }
        }
    }

    /// Why the verifier rejects one instruction word: its structure (`Verifier`) or the kinds
    /// of the registers it uses (`KindCheck`).
    public indirect enum Problem: Equatable, Sendable, CustomStringConvertible {
        // Structure.
        case emptyFunction
        case undefinedOpcode(UInt16)
        case bitsOutsideOperands(Opcode)
        case immediateMissing
        case noTerminator
        case registerOutsideFrame(register: Int, frameSize: Int)
        case branchTargetNotInstruction(target: Int)
        case idOutOfRange(id: Int)
        case idOfWrongKind(Opcode, id: Int, kind: AddressTableEntryKind)
        // Kinds.
        case tooLargeToVerify(blocks: Int, registers: Int)
        case readBeforeWritten(register: Int)
        /// `use` dereferences or passes `register` where `needs` is expected; it holds `holds`.
        case wrongKind(use: KindUse, needs: ValueKind, register: Int, holds: ValueKind)
        case retUnit(declaredResult: ValueKind)
        case arrayLenNeedsArray(register: Int, holds: ValueKind)
        case argumentsOutsideFrame(count: Int, base: Int, frameSize: Int)
        /// What the instruction's Id is could not be worked out.
        case badId(UInt64, ImageError)

        public var description: String {
            switch self {
            case .emptyFunction: "empty function"
            case .undefinedOpcode(let number): "undefined opcode \(number)"
            case .bitsOutsideOperands(let op): "\(op.name) has bits set outside its operands"
            case .immediateMissing: "immediate word missing"
            case .noTerminator: "the last instruction does not end the function"
            case .registerOutsideFrame(let r, let frameSize): "register r\(r) outside a frame of \(frameSize)"
            case .branchTargetNotInstruction(let target): "branch target \(target) is not an instruction"
            case .idOutOfRange(let id): "Id \(id) out of range"
            case .idOfWrongKind(let op, let id, let kind): "\(op.name) cannot use Id \(id) of kind \(kind)"
            case .tooLargeToVerify(let blocks, let registers):
                "too large to verify (\(blocks) blocks of \(registers) registers)"
            case .readBeforeWritten(let r): "r\(r) is read before it is written"
            case .wrongKind(let use, let needs, let r, let holds): "\(use) needs \(needs), but r\(r) holds \(holds)"
            case .retUnit(let result): "ret_unit in a function whose declared result is \(result)"
            case .arrayLenNeedsArray(let r, let holds): "array_len needs an array, but r\(r) holds \(holds)"
            case .argumentsOutsideFrame(let count, let base, let frameSize):
                "the callee takes \(count) arguments, but r\(base)… leaves \(frameSize - base) in a frame of \(frameSize)"
            case .badId(let id, let error): "Id \(id): \(error)"
            }
        }
    }

    /// Where an instruction uses a register as a value of one kind (`Problem.wrongKind`).
    public enum KindUse: Equatable, Sendable, CustomStringConvertible {
        case globalSet
        /// `ret`: the function's declared result.
        case ret
        case arrayLoad
        case arrayStore
        /// A call's argument.
        case argument(Int)

        public var description: String {
            switch self {
            case .globalSet: "global_set"
            case .ret: "ret (the function's declared result)"
            case .arrayLoad: "the array load"
            case .arrayStore: "the array store"
            case .argument(let i): "argument \(i)"
            }
        }
    }
}
