import ArgumentParser
import RibbonCache
import RibbonSystem

// The values `cache` options take that ArgumentParser does not know: sizes, ages, orders.

/// A size on the command line, as `ByteSize.parse` reads it: `512M`, `1G`, `4096`.
struct ByteSizeArgument: ExpressibleByArgument, Sendable {
    var bytes: Int64

    init?(argument: String) {
        guard let bytes = ByteSize.parse(argument) else { return nil }
        self.bytes = bytes
    }
}

/// An age on the command line, as `TimeText.parseSeconds` reads it: `30s`, `10m`, `12h`, `7d`, `2w`.
struct AgeArgument: ExpressibleByArgument, Sendable {
    var seconds: Int64

    init?(argument: String) {
        guard let seconds = TimeText.parseSeconds(argument) else { return nil }
        self.seconds = seconds
    }
}

extension CacheStore.UnitOrder: ExpressibleByArgument {}
