import ArgumentParser

/// `ribbon cache ...`: look into the compilation cache and manage it (../shared/DESIGN.md, "Command line").
package struct CacheCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect and manage the compilation cache.",
        discussion: """
            The cache is one SQLite database in $RIBBON_CACHE_DIR, else $XDG_CACHE_HOME/ribbon, \
            else ~/.cache/ribbon (or --cache-dir). Commands that only read never create it. \
            Exit status: 0; 1 when verify finds bad entries (or show finds none); 64 on a usage \
            error; 74 when the cache cannot be opened or read.
            """,
        subcommands: [
            Stats.self, List.self, Show.self, Verify.self, GC.self, Clear.self, Path.self, Key.self,
        ]
    )

    package init() {}
}
