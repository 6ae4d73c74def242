#!/usr/bin/env python3
"""ptyrun.py LOG STOPFILE CMD...: runs CMD on a terminal of its own, as a
person at a keyboard would (`make run` in a shell), copying what it shows
to LOG. Once STOPFILE exists it types Ctrl-C, waits for CMD to end and
writes its exit status to LOG.status."""
import os
import pty
import select
import signal
import sys
import time

log, stop, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    # Started in the background by a script, we inherit SIGINT ignored,
    # which a shell cannot trap again: give the command the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(cmd[0], cmd)
typed = False
deadline = None
with open(log, "ab", buffering=0) as out:
    while True:
        if not typed and os.path.exists(stop):
            os.write(fd, b"\x03")
            typed, deadline = True, time.time() + 60
        if deadline is not None and time.time() > deadline:
            os.killpg(pid, signal.SIGTERM)  # its session: everything
            break
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last process is gone
            break
        if not data:
            break
        out.write(data)
_, status = os.waitpid(pid, 0)
with open(log + ".status", "w") as f:
    f.write("%d\n" % os.waitstatus_to_exitcode(status))
