// A pthread for the warm path's independent steps and `build`'s workers (moved here from
// RibbonCache: the driver and the CLI use it too, and it knows nothing of the cache).

#if canImport(Glibc)
import Glibc
#endif

/// Work on a second thread, for the warm path's independent steps (hashing an image while it
/// is decoded; recording a hit while the program runs). A plain pthread: no Foundation, no
/// Dispatch at start-up. `wait()` returns the body's result (it may be called more than once).
package final class BackgroundTask<Result> {
    private let thread: BackgroundThread
    private let box: ResultBox

    private final class ResultBox {
        var value: Result?
    }

    package init(_ body: @escaping () -> Result) {
        let box = ResultBox()
        self.box = box
        thread = BackgroundThread { box.value = body() }
    }

    /// Waits for the body to finish and returns its result.
    package func wait() -> Result {
        thread.join()
        return box.value!
    }
}

/// The thread itself (not generic: a C function pointer cannot capture generic parameters).
final class BackgroundThread {
    private var thread: pthread_t?
    private var body: (() -> Void)?

    init(_ body: @escaping () -> Void) {
        self.body = body
        let retained = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let rc = pthread_create(&created, nil, { raw in
            let me = Unmanaged<BackgroundThread>.fromOpaque(raw!).takeRetainedValue()
            me.body?()
            me.body = nil
            return nil
        }, retained)
        if rc == 0 {
            thread = created
        } else {
            // No thread to be had: run it here and now.
            Unmanaged<BackgroundThread>.fromOpaque(retained).release()
            body()
            self.body = nil
        }
    }

    func join() {
        guard let thread else { return }
        pthread_join(thread, nil)
        self.thread = nil
    }
}
