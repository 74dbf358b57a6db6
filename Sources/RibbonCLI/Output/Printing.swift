import ArgumentParser
import RibbonDriver

// Writing to the terminal: output as it is, and an error line with the exit code it makes.

/// Prints `ribbon: error: MESSAGE` on standard error; returns the exit code to throw.
func failure(_ message: String, status: Int32) -> ExitCode {
    Driver.printError("ribbon: error: \(message)")
    return ExitCode(status)
}

/// Writes text to standard output as it is (no newline added).
func output(_ text: String) {
    print(text, terminator: "")
}
