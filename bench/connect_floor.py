#!/usr/bin/env python3
# Opens N connections to a broker (200 at a time), holds them 1 s, closes them: bare TCP (tcp),
# a WebSocket upgrade (ws), or an upgrade subscribing to a topic of its own (wstopic); against
# Switchboard (sb) or nchan. The broker CPU is read by bench/connect-floor.sh.
import asyncio, sys, base64, os, time
# usage: conns.py port mode n   (mode: tcp | http | ws | wstopic ; path prefix per target)
port=int(sys.argv[1]); mode=sys.argv[2]; n=int(sys.argv[3]); target=sys.argv[4] if len(sys.argv)>4 else 'sb'
async def one(i, sem, held):
    async with sem:
        r,w=await asyncio.open_connection('127.0.0.1',port)
        if mode=='http':
            w.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" if target=='sb' else b"GET /pub/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await r.read(); w.close(); return
        if mode in ('ws','wstopic'):
            key=base64.b64encode(os.urandom(16)).decode()
            if target=='sb':
                path='/v1/ws' if mode=='ws' else f'/v1/ws?topics=t{i}'
                proto='Sec-WebSocket-Protocol: switchboard.v1\r\n'
            else:
                path='/sub/shared' if mode=='ws' else f'/sub/t{i}'; proto=''
            w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{proto}\r\n".encode())
            await r.readuntil(b"\r\n\r\n")
        held.append(w)
async def main():
    sem=asyncio.Semaphore(200); held=[]
    t=time.time()
    await asyncio.gather(*[one(i,sem,held) for i in range(n)])
    t1=time.time()
    await asyncio.sleep(1)
    for w in held: w.close()
    await asyncio.sleep(1)
    print(f"{mode} {n} opened in {t1-t:.2f}s held={len(held)}")
asyncio.run(main())
