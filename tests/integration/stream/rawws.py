"""A raw WebSocket client for the frames a library will not send: opens
/api/temperature/ws on 127.0.0.1:PORT, sends the frame given in hex
(after the handshake) and prints the close code the server answers with,
or "no close" after 8 s.

    python3 rawws.py PORT HEXFRAME
"""
import socket
import struct
import sys

port, frame = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=8)
s.sendall(b"GET /api/temperature/ws?snapshot=0 HTTP/1.1\r\nHost: x\r\n"
          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    print("handshake failed: " + head.split(b"\r\n")[0].decode())
    sys.exit(1)
s.sendall(frame)
try:
    while True:
        while len(buf) >= 2:
            op, ln = buf[0] & 15, buf[1] & 127
            hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
            if ln == 126:
                ln = struct.unpack(">H", buf[2:4])[0]
            elif ln == 127:
                ln = struct.unpack(">Q", buf[2:10])[0]
            if len(buf) < hl + ln:
                break
            if op == 8:
                print(struct.unpack(">H", buf[hl:hl + 2])[0])
                sys.exit(0)
            buf = buf[hl + ln:]
        data = s.recv(4096)
        if not data:
            print("closed without a close frame")
            sys.exit(0)
        buf += data
except socket.timeout:
    print("no close")
