#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem
import Testing

/// The system module on its own: hex, JSON, whole files, `stat` questions, the clock, the
/// background task, `EINTR` retries and huge-page advice.
@Suite struct HexTests {
    @Test func encodesTwoLowercaseDigitsPerByte() {
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode((0...255).map(UInt8.init)).count == 512)
        #expect(Hex.encode([0xde, 0xad, 0xbe, 0xef][1...]) == "adbeef")
    }

    @Test func padsToAWidthButNeverCuts() {
        #expect(Hex.padded(0, width: 4) == "0000")
        #expect(Hex.padded(0x2a, width: 4) == "002a")
        #expect(Hex.padded(0x12345, width: 4) == "12345")
        #expect(Hex.padded(UInt32(0x1f), width: 4) == "001f")
    }
}

@Suite struct JSONTests {
    @Test func stringsAreEscaped() {
        #expect(JSON.object([("a\"b", .string("x\n\u{1}\\")), ("n", .null)]).text == #"{"a\"b":"x\n\u0001\\","n":null}"#)
        #expect(JSON.quoted("tab\there\r\u{1f}é") == #""tab\there\r\u001fé""#)
    }

    @Test func objectsKeepTheirFieldOrder() {
        let value = JSON.object([
            ("z", .int(1)), ("a", .array([.bool(true), .bool(false), .int(Int64(-3))])),
            ("m", .object([("inner", .double(0.5))])), ("e", .array([])), ("o", .object([])),
        ])
        #expect(value.text == #"{"z":1,"a":[true,false,-3],"m":{"inner":0.5},"e":[],"o":{}}"#)
    }

    @Test func helpersForOptionalsAndRatios() {
        #expect(JSON.optional(nil).text == "null")
        #expect(JSON.optional("k").text == #""k""#)
        #expect(JSON.ratio(2.0 / 3.0).text == "0.6667")
        #expect(JSON.ratio(.nan).text == "null")
        #expect(JSON.ratio(nil).text == "null")
    }
}

@Suite struct FileSystemTests {
    /// A fresh directory under /tmp for one test.
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/ribbon-system-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: made!)
    }

    @Test func writesAndReadsWholeFiles() throws {
        let directory = Self.temporaryDirectory()
        let path = directory + "/a.txt"
        try FileSystem.writeFile(path, contents: "hello\n")
        #expect(try FileSystem.readFile(path) == Array("hello\n".utf8))
        let large = String(repeating: "0123456789abcdef", count: 20_000)
        try FileSystem.writeFile(path, contents: large)
        #expect(try FileSystem.readFile(path) == Array(large.utf8))
        #expect(FileSystem.size(path) == Int64(large.utf8.count))
        #expect(!FileSystem.exists(path + ".tmp-\(getpid())"), "the temporary file is renamed away")
        try FileSystem.writeFile(path, contents: "")
        #expect(try FileSystem.readFile(path) == [])
    }

    @Test func failuresCarryTheCallAndErrno() {
        let directory = Self.temporaryDirectory()
        #expect(throws: SystemError(call: "read", path: directory + "/none", errno: ENOENT)) {
            _ = try FileSystem.readFile(directory + "/none")
        }
        #expect(throws: SystemError(call: "read", path: directory, errno: EISDIR)) {
            _ = try FileSystem.readFile(directory)
        }
        #expect(throws: SystemError(call: "stat", path: directory + "/none", errno: ENOENT)) {
            _ = try FileSystem.status(directory + "/none")
        }
        #expect(throws: SystemError(call: "write", path: directory + "/no/such", errno: ENOENT)) {
            try FileSystem.writeFile(directory + "/no/such", contents: "x")
        }
        let error = SystemError(call: "read", path: "/x", errno: ENOENT)
        #expect(error.description == "cannot read /x: No such file or directory")
    }

    @Test func questionsAskedOfPaths() throws {
        let directory = Self.temporaryDirectory()
        #expect(FileSystem.isDirectory(try FileSystem.status(directory)))
        #expect(FileSystem.exists(directory))
        #expect(!FileSystem.exists(directory + "/none"))
        #expect(FileSystem.size(directory + "/none") == 0)
        #expect(symlink(directory + "/none", directory + "/dangling") == 0)
        #expect(FileSystem.exists(directory + "/dangling"), "a dangling link is there")
        #expect(FileSystem.resolvedPath(directory + "/dangling") == nil)
        try FileSystem.writeFile(directory + "/target", contents: "t")
        #expect(symlink(directory + "/target", directory + "/link") == 0)
        #expect(FileSystem.resolvedPath(directory + "/link") == FileSystem.resolvedPath(directory + "/target"))
        #expect(FileSystem.resolvedPath(directory + "/./link")?.hasSuffix("/target") == true)
        #expect(!FileSystem.isDirectory(try FileSystem.status(directory + "/link")))
    }

    @Test func environmentValues() {
        #expect(setenv("RIBBON_SYSTEM_TEST_VALUE", "v=1", 1) == 0)
        #expect(Environment.value("RIBBON_SYSTEM_TEST_VALUE") == "v=1")
        #expect(unsetenv("RIBBON_SYSTEM_TEST_VALUE") == 0)
        #expect(Environment.value("RIBBON_SYSTEM_TEST_VALUE") == nil)
    }
}

extension SystemError: Equatable {
    package static func == (a: SystemError, b: SystemError) -> Bool {
        a.call == b.call && a.path == b.path && a.errno == b.errno
    }
}

@Suite struct SystemCallTests {
    @Test func interruptedCallsAreRetried() {
        var calls = 0
        let result: Int32 = retryingInterrupts {
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7)
        #expect(calls == 3)
    }

    @Test func otherFailuresAreReturned() {
        var calls = 0
        let result: Int = retryingInterrupts {
            calls += 1
            errno = EAGAIN
            return -1
        }
        #expect(result == -1)
        #expect(calls == 1)
        #expect(errno == EAGAIN)
    }

    @Test func hugePageAdviceNeedsAWholeHugePage() {
        #expect(!HugePages.advise(from: 0x1000, to: 0x2000))
        let length = 4 * HugePages.size
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(mapped, length) }
        let start = UInt(bitPattern: mapped)
        #expect(HugePages.advise(from: start, to: start + UInt(length)))
        #expect(!HugePages.advise(from: start + 1, to: start + UInt(HugePages.size)))
    }
}

@Suite struct ClockAndThreadTests {
    @Test func theMonotonicClockNeverGoesBack() {
        var last = MonotonicClock.nanoseconds()
        for _ in 0..<1000 {
            let now = MonotonicClock.nanoseconds()
            #expect(now >= last)
            last = now
        }
        let micro = MonotonicClock.microseconds()
        let nano = MonotonicClock.nanoseconds()
        #expect(abs(Int(nano / 1000) - micro) < 1_000_000, "one clock in two units")
    }

    @Test func phasesAddUpByName() {
        var clock = PhaseClock()
        usleep(2000)
        clock.mark("a")
        clock.mark("b")
        usleep(2000)
        clock.mark("a")
        #expect(clock.phases.map(\.name) == ["a", "b"])
        #expect(clock.phases[0].microseconds >= 4000)
        #expect(clock.phases[1].microseconds >= 0)
    }

    @Test func aBackgroundTaskReturnsItsResult() {
        let main = pthread_self()
        let task = BackgroundTask { () -> (Int, Bool) in
            ((1...1000).reduce(0, +), pthread_equal(pthread_self(), main) != 0)
        }
        let (sum, onMainThread) = task.wait()
        #expect(sum == 500_500)
        #expect(!onMainThread)
        #expect(task.wait().0 == 500_500, "wait may be called again")
    }
}
