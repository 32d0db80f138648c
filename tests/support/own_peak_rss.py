"""Run a command under an address-space limit and report its own peak RSS.

A process forked from a large one (a pytest worker of 150 MiB) has that process's
resident memory counted in its ``ru_maxrss`` before it even execs, whatever it does
after. So the command runs as the grandchild of the test, forked from this small
wrapper, and the wrapper writes the grandchild's ``ru_maxrss`` (KiB) to a file.

    python own_peak_rss.py LIMIT_BYTES REPORT_FILE COMMAND [ARG...]

The wrapper passes SIGTERM and SIGINT on, and ends as the command ended: with its exit
code, or killed by the same signal.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path

WRAPPER = __file__


def main() -> None:
    limit, report, argv = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    pid = os.fork()
    if pid == 0:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    for passed_on in (signal.SIGTERM, signal.SIGINT):
        signal.signal(passed_on, lambda received, _frame: os.kill(pid, received))
    _, status, usage = os.wait4(pid, 0)
    report.write_text(str(usage.ru_maxrss))
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
