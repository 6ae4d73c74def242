#!/usr/bin/env python3
"""cutproxy PORT TARGET_PORT [DELAY_MS]: a TCP proxy on 127.0.0.1:PORT to
127.0.0.1:TARGET_PORT that can cut one path in a test, or slow it down.

SIGUSR1 cuts: every connection is closed and new ones are refused (the
listener closes). SIGUSR2 mends: it listens again. SIGHUP turns the
slow mode on or off: each answer (the first bytes from the target after
the client sent something) is held DELAY_MS (default 5000) before it is
passed on; the connection stays open, so the client sees a server that
answers late, not one that is gone. SIGTERM ends it."""
import signal
import socket
import sys
import threading
import time

port, target = int(sys.argv[1]), int(sys.argv[2])
delay = (int(sys.argv[3]) if len(sys.argv) > 3 else 5000) / 1000.0
slow = threading.Event()	# set: answers are held delay seconds
lock = threading.Lock()
conns = []
listener = None
want = threading.Event()	# set: should be listening
want.set()


def pipe(a, b, asked, answer):
    """Copies a to b. asked is set while the client waits for an answer:
    the client's side sets it, the target's side holds the first bytes
    of the answer in slow mode and clears it."""
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            if not answer:
                asked.set()	# before the target can answer
            elif asked.is_set():
                asked.clear()
                if slow.is_set():
                    time.sleep(delay)
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    if answer:		# both shut: forget the pair (closed once unreferenced)
        with lock:
            for s in (a, b):
                if s in conns:
                    conns.remove(s)


def serve():
    global listener
    while True:
        want.wait()
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(64)
        with lock:
            listener = ls
        while want.is_set():
            try:
                c, _ = ls.accept()
            except OSError:
                break
            try:
                u = socket.create_connection(("127.0.0.1", target))
            except OSError:
                c.close()
                continue
            with lock:
                conns.extend((c, u))
            asked = threading.Event()
            threading.Thread(target=pipe, args=(c, u, asked, False),
                             daemon=True).start()
            threading.Thread(target=pipe, args=(u, c, asked, True),
                             daemon=True).start()


def cut(*_):
    want.clear()
    with lock:
        for s in conns + ([listener] if listener else []):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        conns.clear()


def mend(*_):
    want.set()


signal.signal(signal.SIGUSR1, cut)
signal.signal(signal.SIGUSR2, mend)
signal.signal(signal.SIGHUP,
              lambda *_: slow.clear() if slow.is_set() else slow.set())
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
threading.Thread(target=serve, daemon=True).start()
while True:
    signal.pause()
