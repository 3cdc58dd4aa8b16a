#!/usr/bin/python3
"""loss_relay.py: a lossy network between an RTSP client and a camera, for pinvr's tests.

Owns: an RTSP proxy on 127.0.0.1 that passes the RTSP conversation through to a camera and
relays the RTP/RTCP it then sends over UDP, dropping a share of the RTP packets, as a busy
Wi-Fi link or a cheap switch does. Nothing is decoded: packets go through or are dropped.

Usage:
    /usr/bin/python3 tests/loss_relay.py --camera 127.0.0.1:PORT --loss 0.02 [--seed N]

Once listening it prints one line, flushed:
    READY PORT
and at SIGTERM, before exiting, one more:
    DROPPED <RTP packets dropped> OF <RTP packets seen>

How: each SETUP's Transport header is rewritten twice. The client's client_port=A-B
becomes a pair of the relay's own ports facing the camera; the camera's answer gets the
client's A-B back and a pair of the relay's ports facing the client as server_port. RTP
from the camera is forwarded to the client (or dropped); RTCP both ways, unharmed.
"""

import argparse
import random
import re
import signal
import socket
import sys
import threading

LOCK = threading.Lock()
COUNTS = {"seen": 0, "dropped": 0}


def udp_pair():
    """Two UDP sockets on 127.0.0.1, on free consecutive ports (RTP even, RTCP odd)."""
    for _ in range(100):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        if port % 2:
            a.close()
            continue
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            b.bind(("127.0.0.1", port + 1))
        except OSError:
            a.close()
            b.close()
            continue
        return a, b
    raise RuntimeError("no free UDP port pair")


def forward(src, dst_sock, dst_addr, loss, rng):
    """Relays datagrams arriving at `src` to `dst_addr` from `dst_sock`, dropping `loss`."""
    while True:
        try:
            data, _ = src.recvfrom(65536)
        except OSError:
            return
        if loss:
            with LOCK:
                COUNTS["seen"] += 1
                drop = rng.random() < loss
                if drop:
                    COUNTS["dropped"] += 1
            if drop:
                continue
        try:
            dst_sock.sendto(data, dst_addr)
        except OSError:
            return


def learn_and_forward(src, dst_sock, dst_addr_box):
    """Relays datagrams from the client (RTCP receiver reports, hole punches) at `src` to
    the camera's address once it is known (`dst_addr_box[0]`)."""
    while True:
        try:
            data, _ = src.recvfrom(65536)
        except OSError:
            return
        if dst_addr_box[0]:
            try:
                dst_sock.sendto(data, dst_addr_box[0])
            except OSError:
                return


def read_message(f):
    """One RTSP message from file `f`: (header lines, body), or None at the end."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if lines:
                break
            continue
        lines.append(line)
    length = 0
    for line in lines:
        k, _, v = line.decode("latin-1").partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    body = f.read(length) if length else b""
    return lines, body


def cseq_of(lines):
    """The CSeq header's value of a message's header lines, or None."""
    return next((l.split(b":", 1)[1].strip() for l in lines if l.lower().startswith(b"cseq:")), None)


def write_message(sock, lines, body):
    sock.sendall(b"".join(lines) + b"\r\n" + body)


def session(client, camera_addr, loss, rng):
    server = socket.create_connection(camera_addr)
    cf, sf = client.makefile("rb"), server.makefile("rb")
    cam_ip = camera_addr[0]
    pending = {}  # CSeq -> (client ports, relay sockets facing the camera, facing the client)
    port_re = re.compile(rb"client_port=(\d+)-(\d+)")

    def downstream():
        """The camera's answers to the client, SETUP answers rewritten."""
        while True:
            m = read_message(sf)
            if m is None:
                client.close()
                return
            lines, body = m
            cseq = cseq_of(lines)
            if cseq in pending:
                (a, b), (cam_rtp, cam_rtcp), (cli_rtp, cli_rtcp), boxes = pending.pop(cseq)
                out = []
                for line in lines:
                    if line.lower().startswith(b"transport:"):
                        sp = re.search(rb"server_port=(\d+)-(\d+)", line)
                        if sp:
                            boxes[0][0] = (cam_ip, int(sp.group(1)))
                            boxes[1][0] = (cam_ip, int(sp.group(2)))
                        line = port_re.sub(b"client_port=%d-%d" % (a, b), line)
                        line = re.sub(rb"server_port=\d+-\d+",
                                      b"server_port=%d-%d" % (cli_rtp.getsockname()[1], cli_rtcp.getsockname()[1]),
                                      line)
                    out.append(line)
                lines = out
            write_message(client, lines, body)

    threading.Thread(target=downstream, daemon=True).start()
    while True:
        m = read_message(cf)
        if m is None:
            server.close()
            return
        lines, body = m
        out = []
        for line in lines:
            if line.lower().startswith(b"transport:") and port_re.search(line):
                g = port_re.search(line)
                a, b = int(g.group(1)), int(g.group(2))
                cam_rtp, cam_rtcp = udp_pair()
                cli_rtp, cli_rtcp = udp_pair()
                boxes = ([None], [None])
                cseq = cseq_of(lines)
                pending[cseq] = ((a, b), (cam_rtp, cam_rtcp), (cli_rtp, cli_rtcp), boxes)
                # Camera to client: RTP lossy, RTCP not; client to camera: as it comes.
                for args in [(cam_rtp, cli_rtp, ("127.0.0.1", a), loss, rng),
                             (cam_rtcp, cli_rtcp, ("127.0.0.1", b), 0.0, rng)]:
                    threading.Thread(target=forward, args=args, daemon=True).start()
                for args in [(cli_rtp, cam_rtp, boxes[0]), (cli_rtcp, cam_rtcp, boxes[1])]:
                    threading.Thread(target=learn_and_forward, args=args, daemon=True).start()
                line = port_re.sub(b"client_port=%d-%d" % (cam_rtp.getsockname()[1], cam_rtcp.getsockname()[1]), line)
            out.append(line)
        write_message(server, out, body)


def main():
    ap = argparse.ArgumentParser(description="A lossy RTSP/UDP relay.")
    ap.add_argument("--camera", required=True, help="HOST:PORT of the camera's RTSP server")
    ap.add_argument("--loss", type=float, required=True, help="share of RTP packets dropped")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    host, port = args.camera.rsplit(":", 1)
    rng = random.Random(args.seed)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def stop(*_):
        with LOCK:
            print(f"DROPPED {COUNTS['dropped']} OF {COUNTS['seen']}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"READY {listener.getsockname()[1]}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=session, args=(client, (host, int(port)), args.loss, rng),
                         daemon=True).start()


if __name__ == "__main__":
    main()
