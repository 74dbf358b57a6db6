/// The top level of a file: `use` lines, functions, foreign declarations, globals, their
/// parameters and types.
extension Parser {
    mutating func parseFile() -> SourceFileSyntax {
        var declarations: [DeclarationSyntax] = []
        while true {
            switch current.kind {
            case .endOfFile:
                tree.declarations = declarations
                tree.names = names
                tree.strings = lexer.strings
                return tree
            case .newline, .semicolon, .dedent:
                advance()
            case .indent:
                diagnostics.append(error("unexpected indentation"))
                skipIndentedBlock()
            default:
                let start = current
                let declares = peek() == .declare
                do {
                    declarations.append(try parseDeclaration())
                    try expectEndOfStatement()
                } catch {
                    diagnostics.append(error)
                    pendingStatements.removeAll(keepingCapacity: true)
                    pendingArguments.removeAll(keepingCapacity: true)
                    if case .identifier(let name) = start.kind, declares {
                        declarations.append(.invalid(name: Identifier(name, at: start.location)))
                    }
                    recover()
                }
            }
        }
    }

    mutating func parseDeclaration() throws(Diagnostic) -> DeclarationSyntax {
        if current.kind == .keywordUse {
            let location = current.location
            advance()
            guard case .string(let path) = current.kind else {
                throw error("expected a path string after `use`, found \(describe(current.kind))")
            }
            advance()
            return .use(path: lexer.strings[Int(path)], location: location)
        }
        guard case .identifier(let name) = current.kind, peek() == .declare else {
            throw error("expected a declaration (`name := ...` or `use \"path\"`), found \(describe(current.kind))")
        }
        let identifier = Identifier(name, at: current.location)
        advance()
        advance()
        switch current.kind {
        case .keywordFun:
            return .function(name: identifier, try parseFunction())
        case .keywordForeign:
            return .foreign(name: identifier, try parseForeign())
        default:
            return .global(name: identifier, try parseExpressionOrIf())
        }
    }

    mutating func parseFunction() throws(Diagnostic) -> FunctionSyntax {
        let location = current.location
        advance()
        let (parameters, result) = try parseSignature()
        let dot = try expect(.dot, " after the function header")
        let body = try parseBody(header: dot.location)
        return FunctionSyntax(parameters: parameters, result: result, body: body, at: location)
    }

    mutating func parseForeign() throws(Diagnostic) -> ForeignSyntax {
        let location = current.location
        advance()
        guard case .string(let symbolIndex) = current.kind else {
            throw error("expected the C symbol name as a string after `foreign`, found \(describe(current.kind))")
        }
        let symbol = lexer.strings[Int(symbolIndex)]
        advance()
        let (parameters, result) = try parseSignature()
        return ForeignSyntax(symbol: symbol, parameters: parameters, result: result, at: location)
    }

    /// `( name: Type, ... )`, then `-> Type` if there is one: what functions and foreign
    /// declarations share.
    mutating func parseSignature() throws(Diagnostic) -> (parameters: Range<Int32>, result: TypeSyntax?) {
        let parameters = try parseParameters()
        guard current.kind == .arrow else { return (parameters, nil) }
        advance()
        return (parameters, try parseType())
    }

    /// `( name: Type, ... )`
    mutating func parseParameters() throws(Diagnostic) -> Range<Int32> {
        try expect(.leftParen)
        let start = Int32(truncatingIfNeeded: tree.parameters.count)
        if current.kind != .rightParen {
            while true {
                let name = try expectIdentifier("a parameter name")
                try expect(.colon, " after the parameter name")
                tree.parameters.append(ParameterSyntax(name: name, type: try parseType()))
                guard current.kind == .comma else { break }
                advance()
            }
        }
        try expect(.rightParen)
        return start..<Int32(truncatingIfNeeded: tree.parameters.count)
    }

    /// `Name` or `Array Name`.
    mutating func parseType() throws(Diagnostic) -> TypeSyntax {
        let location = current.location
        let name = try expectIdentifier("a type").name
        if case .identifier(let element) = current.kind, lexer.names.isArray(name) {
            advance()
            return TypeSyntax(name: name, element: element, at: location)
        }
        return TypeSyntax(name: name, at: location)
    }
}
