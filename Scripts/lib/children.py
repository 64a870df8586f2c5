"""Stopping a child process the scripts started (by its own handle, never by name)."""
import signal
import subprocess


def exit_on_sigterm():
    """Turns a SIGTERM (a CI timeout, an operator's kill) into SystemExit, so the `finally`
    blocks that stop the simulator, the agent and the proxies run as they do on an error."""
    def terminated(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminated)


def stop_child(process, timeout, on_kill=None):
    """SIGTERM, then SIGKILL if `process` has not exited within `timeout` seconds.

    Returns its exit status, or None when it had to be killed (after calling `on_kill`, which
    can say so) or was never started.
    """
    if process is None:
        return None
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if on_kill:
            on_kill()
        process.kill()
        process.wait()
        return None
