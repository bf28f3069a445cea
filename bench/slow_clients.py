#!/usr/bin/env python3
"""slow_clients.py - the slow-client attack of issue 17, finding 4: N connections
from several loopback source addresses, each trickling one byte of a request
that never ends every PERIOD seconds, reconnecting as soon as the server
closes one. Loopback only. Prints one summary line at the end:

  SLOW opened=... refused=... cut=... max_open=... per_address_max=...

opened: connections that sent at least one byte; refused: closed by the
server before it had 2 bytes (accept policy, per-address cap); cut: closed
later (the request deadline); max_open: most connections open at once.

Usage: slow_clients.py PORT SECONDS [N=1100] [PERIOD=2] [ADDRS=127.0.0.2-6]
"""
import asyncio
import sys
import time

PORT = int(sys.argv[1])
SECONDS = float(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1100
PERIOD = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
lo, hi = (sys.argv[5] if len(sys.argv) > 5 else "127.0.0.2-6").rsplit(".", 1)[1].split("-")
ADDRS = ["127.0.0.%d" % i for i in range(int(lo), int(hi) + 1)]
REQ = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000

stats = {"opened": 0, "refused": 0, "cut": 0, "open": 0, "max_open": 0}
per_addr = {a: 0 for a in ADDRS}
per_addr_max = {a: 0 for a in ADDRS}


async def client(i, until):
    addr = ADDRS[i % len(ADDRS)]
    while time.monotonic() < until:
        sent = 0
        counted = False
        try:
            r, w = await asyncio.open_connection("127.0.0.1", PORT, local_addr=(addr, 0))
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            while time.monotonic() < until:
                w.write(REQ[sent:sent + 1])
                await w.drain()
                sent += 1
                if not counted:
                    counted = True
                    stats["opened"] += 1
                    stats["open"] += 1
                    per_addr[addr] += 1
                    stats["max_open"] = max(stats["max_open"], stats["open"])
                    per_addr_max[addr] = max(per_addr_max[addr], per_addr[addr])
                try:
                    data = await asyncio.wait_for(r.read(4096), PERIOD)
                    if not data:
                        raise ConnectionResetError
                except asyncio.TimeoutError:
                    pass
        except (ConnectionError, OSError):
            stats["refused" if sent < 2 else "cut"] += 1
        finally:
            if counted:
                stats["open"] -= 1
                per_addr[addr] -= 1
            w.close()
        await asyncio.sleep(0.2)


async def main():
    until = time.monotonic() + SECONDS
    await asyncio.gather(*(client(i, until) for i in range(N)))


asyncio.run(main())
print("SLOW opened=%d refused=%d cut=%d max_open=%d per_address_max=%d addresses=%d clients=%d period_s=%g"
      % (stats["opened"], stats["refused"], stats["cut"], stats["max_open"],
         max(per_addr_max.values()), len(ADDRS), N, PERIOD))
