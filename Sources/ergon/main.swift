import ErgonCLI
import Foundation

// A parent may start `ergon` with SIGTERM and SIGINT blocked (a signal mask is inherited, and
// some runtimes block them in their threads): unblocked here, so `ergon agent` always drains
// on them.
var drainSignals = sigset_t()
sigemptyset(&drainSignals)
sigaddset(&drainSignals, SIGTERM)
sigaddset(&drainSignals, SIGINT)
pthread_sigmask(SIG_UNBLOCK, &drainSignals, nil)

exit(await ErgonCommand.runMain())
