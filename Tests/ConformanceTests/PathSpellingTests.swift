import Foundation
@testable import RibbonDriver
import RibbonSyntax
import RibbonSystem
import Testing

/// A unit image is a function of what its cache key covers — the source's bytes, the keys of
/// the files it uses, the compiler — and never of how the file's path was spelled (issue 12,
/// item 1): the key does not cover the spelling, so two spellings that gave two images under
/// one key let a run that lost part of its image mid-run splice parts of both.
@Suite struct PathSpellingTests {
    @Test func anImageIsTheSameWhateverThePathsSpelling() throws {
        let cwd = FileManager.default.currentDirectoryPath
        for file in ["examples/use/main.rib", "examples/use/lib/mid.rib", "../shared/examples/fib.rib"] {
            let spellings = [
                file, "./" + file, file.replacingOccurrences(of: "/", with: "//"),
                file.replacingOccurrences(of: "examples/", with: "examples/./"), cwd + "/" + file,
            ]
            var images: Set<[UInt8]> = []
            for path in spellings {
                var statistics = RunStatistics()
                let source = SourceFile(path: path, bytes: try FileSystem.readFile(path))
                guard case .success(let image, _) = Driver.compile(source, statistics: &statistics) else {
                    Issue.record("\(path) does not compile")
                    continue
                }
                images.insert(image.bytes)
            }
            #expect(images.count == 1, "\(file): \(images.count) different images for \(spellings.count) spellings")
        }
    }
}
