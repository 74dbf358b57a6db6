import RibbonCore
import Testing

@testable import RibbonBytecode

/// The text of each image error is what `ribbon` and `cache verify` print: matching moved from
/// these words to `ImageError.Reason`, so the words are pinned here, one row per case.
@Suite struct ImageErrorTests {
    static let reasons: [(ImageError.Reason, String)] = [
        (.sourceFailed("chunk 3 fails its hash"), "unit image: chunk 3 fails its hash"),
        (.functionPrefixTooLong, "the function prefix is longer than the functions"),
        (.sectionSizesMismatch, "section sizes do not match their counts"),
        (.reservedHeaderWordNotZero, "unit image header word 28 is not zero"),
        (.cannotMap(bytes: 4096), "cannot map 4096 bytes for the unit"),
        (.unknownEntryKind(id: 3), "entry 3 has an unknown kind"),
        (.prefixEntryNotFunction(id: 1), "entry 1 is in the function prefix but is no function"),
        (.importNamesNeither(id: 4), "imported entry 4 names neither a function nor a global"),
        (.functionEntryOutsideCode(id: 2), "function entry 2 is outside the code"),
        (.functionEntryWithoutRow(id: 2), "function entry 2 does not match a function row"),
        (.globalEntryOutOfRange(id: 5), "global entry 5 out of range"),
        (.constantOutsideData(id: 6), "constant entry 6 is outside the data"),
        (.constantNotTerminated(id: 6), "constant entry 6 is not NUL-terminated"),
        (.badForeignSignature(id: 7), "foreign entry 7 has a bad signature"),
        (.functionEntriesMismatchRows, "function entries and function rows do not match"),
        (.globalNotConstant(global: 0), "global 0 refers to a non-constant"),
        (.unknownGlobalInitialiser(global: 1), "global 1 has an unknown initialiser kind"),
        (.symbolNamesBadId(name: "f"), "symbol `f` names a bad Id"),
        (.functionMismatchesEntry(function: "f"), "function `f` does not match its AddressTable entry"),
        (.mainTakesParameters(2), "function `main` takes 2 parameters"),
        (.functionPastCode(function: "f"), "function `f` runs past the code"),
        (.badFrameSize(function: "f"), "function `f` has a bad frame size"),
        (.badLineRows(function: "f"), "function `f` has bad line rows"),
        (.headerDisagreesWithRow(function: "f"), "function `f` header disagrees with its row"),
        (.functionsOverlap, "functions overlap in the code section"),
        (.badFunctionEntry(row: 4), "function entry for row 4 is bad"),
        (.unreadableSignature(row: 4), "function #4: its signature cannot be read"),
        (.idOutOfRange(id: 9), "Id 9 is out of range"),
        (.importedGlobalMissing(id: 3), "imported entry 3 names a global its unit does not have"),
        (.importedFunctionMissing(id: 3), "imported entry 3 names a function its unit does not have"),
        (.noSignature(function: "f"), "function `f` has no signature"),
        (.parameterCountMismatch(function: "h", declared: 2, actual: 1),
         "function `h` is declared with 2 parameters but has 1"),
        (.badSignature(function: "f"), "function `f` has a bad signature"),
        (.failedVerification(function: "f"), "function `f` failed verification"),
        (.rejectedWord(function: "f", word: 3, .emptyFunction), "function `f`, word 3: empty function"),
    ]

    static let problems: [(ImageError.Problem, String)] = [
        (.emptyFunction, "empty function"),
        (.undefinedOpcode(255), "undefined opcode 255"),
        (.bitsOutsideOperands(.ret), "ret has bits set outside its operands"),
        (.immediateMissing, "immediate word missing"),
        (.noTerminator, "the last instruction does not end the function"),
        (.registerOutsideFrame(register: 2, frameSize: 2), "register r2 outside a frame of 2"),
        (.branchTargetNotInstruction(target: -1), "branch target -1 is not an instruction"),
        (.idOutOfRange(id: 99), "Id 99 out of range"),
        (.idOfWrongKind(.call, id: 3, kind: .global), "call cannot use Id 3 of kind \(AddressTableEntryKind.global)"),
        (.tooLargeToVerify(blocks: 9, registers: 200), "too large to verify (9 blocks of 200 registers)"),
        (.readBeforeWritten(register: 1), "r1 is read before it is written"),
        (.wrongKind(use: .arrayLoad, needs: .array64, register: 0, holds: .scalar),
         "the array load needs an array of 8-byte elements, but r0 holds a scalar"),
        (.wrongKind(use: .arrayStore, needs: .array8, register: 0, holds: .string),
         "the array store needs an array of 1-byte elements, but r0 holds a Str"),
        (.wrongKind(use: .ret, needs: .array64, register: 0, holds: .array8),
         "ret (the function's declared result) needs an array of 8-byte elements, but r0 holds an array of 1-byte elements"),
        (.wrongKind(use: .globalSet, needs: .string, register: 0, holds: .scalar), "global_set needs a Str, but r0 holds a scalar"),
        (.wrongKind(use: .argument(1), needs: .string, register: 3, holds: .scalar), "argument 1 needs a Str, but r3 holds a scalar"),
        (.retUnit(declaredResult: .string), "ret_unit in a function whose declared result is a Str"),
        (.arrayLenNeedsArray(register: 3, holds: .scalar), "array_len needs an array, but r3 holds a scalar"),
        (.argumentsOutsideFrame(count: 2, base: 3, frameSize: 4),
         "the callee takes 2 arguments, but r3… leaves 1 in a frame of 4"),
        (.badId(7, .malformed(.idOutOfRange(id: 7))), "Id 7: malformed unit image: Id 7 is out of range"),
    ]

    @Test func reasonsReadAsBefore() {
        for (reason, text) in Self.reasons {
            #expect("\(ImageError.malformed(reason))" == "malformed unit image: " + text)
        }
        for (problem, text) in Self.problems { #expect("\(problem)" == text) }
        #expect("\(ImageError.truncated)" == "unit image is truncated or has an out-of-range offset")
        #expect("\(ImageError.unresolvedImport("lib.rib:f"))" == "imported name `lib.rib:f` not found")
    }
}
