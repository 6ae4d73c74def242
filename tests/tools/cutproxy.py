#!/usr/bin/env python3
"""cutproxy PORT TARGET_PORT: a TCP proxy on 127.0.0.1:PORT to
127.0.0.1:TARGET_PORT that can cut one path in a test.

SIGUSR1 cuts: every connection is closed and new ones are refused (the
listener closes). SIGUSR2 mends: it listens again. SIGTERM ends it."""
import signal
import socket
import sys
import threading

port, target = int(sys.argv[1]), int(sys.argv[2])
lock = threading.Lock()
conns = []
listener = None
want = threading.Event()	# set: should be listening
want.set()


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
            threading.Thread(target=pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=pipe, args=(u, c), daemon=True).start()


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
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
threading.Thread(target=serve, daemon=True).start()
while True:
    signal.pause()
