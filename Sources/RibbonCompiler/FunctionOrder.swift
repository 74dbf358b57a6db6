/// The order in which lowering numbers and lays out a file's functions: what `main` can call
/// first, each function followed by the functions it calls (depth first, in the order the calls
/// appear), then the functions `main` cannot reach, the same way from each in declaration order.
///
/// Function Ids, function rows and code are all in this order, so the functions a run can use
/// sit together in the unit image instead of being scattered over it. A warm run reads the
/// image from the cache in 4 KiB chunks (`ImageChunks`): the 5,000-function benchmark program
/// calls 46 functions, which in declaration order lie in 44 different chunks and in this order
/// in 5. The order depends only on the program, so images stay deterministic.
func functionOrder(of program: CheckedProgram) -> [Int] {
    let count = program.functions.count
    var order: [Int] = []
    order.reserveCapacity(count)
    var placed = [Bool](repeating: false, count: count)
    var stack: [Int] = []
    let roots = (program.mainFunction.map { [$0] } ?? []) + Array(0..<count)
    for root in roots where !placed[root] {
        stack.append(root)
        while let f = stack.popLast() {
            guard !placed[f] else { continue }
            placed[f] = true
            order.append(f)
            // Reversed, so that the first call is the next one taken off the stack.
            for callee in program.callees(of: f).reversed() where !placed[callee] { stack.append(callee) }
        }
    }
    return order
}

extension CheckedProgram {
    /// The functions of this file that function `f`'s body calls, about in source order (a
    /// nested block's calls come after its block's), with repeats. Calls of imported
    /// functions are left out: they live in other units.
    func callees(of f: Int) -> [Int] {
        var callees: [Int] = []
        var blocks = [functions[f].body]
        var expressions: [CheckedExpressionID] = []
        func visit(_ e: CheckedExpressionID) {
            expressions.append(e)
            while let e = expressions.popLast() {
                switch self[e].kind {
                case .intLiteral, .floatLiteral, .boolLiteral, .stringLiteral, .unitLiteral, .local, .global:
                    break
                case .unary(_, let a):
                    expressions.append(a)
                case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b), .index(let a, let b):
                    expressions.append(b)
                    expressions.append(a)
                case .call(let function, let arguments):
                    if Int(function) < functions.count { callees.append(Int(function)) }
                    for a in arguments.reversed() { expressions.append(self.arguments[Int(a)]) }
                case .callForeign(_, let arguments), .builtin(_, let arguments):
                    for a in arguments.reversed() { expressions.append(self.arguments[Int(a)]) }
                case .ifElse(let condition, let then, let otherwise):
                    expressions.append(condition)
                    if let otherwise { blocks.append(otherwise) }
                    blocks.append(then)
                }
            }
        }
        while let b = blocks.popLast() {
            let block = self[b]
            for s in block.statements {
                switch self[CheckedStatementID(s)].kind {
                case .expression(let e), .declare(_, let e), .assignLocal(_, let e), .assignGlobal(_, let e):
                    visit(e)
                case .assignIndex(let array, let index, let value):
                    visit(array)
                    visit(index)
                    visit(value)
                case .whileLoop(let condition, let body):
                    visit(condition)
                    blocks.append(body)
                case .returnValue(let e):
                    if let e { visit(e) }
                case .breakLoop, .continueLoop:
                    break
                }
            }
            if let result = block.result { visit(result) }
        }
        return callees
    }
}
