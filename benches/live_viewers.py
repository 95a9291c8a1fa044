#!/usr/bin/env python3
"""HLS viewers for benches/live.sh: each viewer polls its media playlist once a second and fetches
every segment it has not fetched yet, as a player does. Usage:

    live_viewers.py SECONDS URL [URL...]      (one viewer per URL; a URL may repeat)

A URL ending in a multivariant playlist is followed to its first media playlist. Prints one line:
`viewers=N segments=N bytes=N errors=N` when SECONDS have passed.
"""

import asyncio
import sys
import time
from urllib.parse import urljoin, urlsplit


async def get(url):
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body


async def viewer(url, deadline, totals):
    seen = set()
    media = None
    while time.monotonic() < deadline:
        try:
            if media is None:
                status, body = await get(url)
                if status != 200:
                    totals["errors"] += 1
                    await asyncio.sleep(1)
                    continue
                lines = [l for l in body.decode().splitlines() if l and not l.startswith("#")]
                media = urljoin(url, lines[0]) if b"#EXT-X-STREAM-INF" in body else url
                if media != url:
                    continue
            status, body = await get(media)
            if status != 200:
                totals["errors"] += 1
            else:
                for line in body.decode().splitlines():
                    if line and not line.startswith("#") and line not in seen:
                        seen.add(line)
                        s, data = await get(urljoin(media, line))
                        if s == 200:
                            totals["segments"] += 1
                            totals["bytes"] += len(data)
                        else:
                            totals["errors"] += 1
        except OSError:
            totals["errors"] += 1
        await asyncio.sleep(1)


async def main():
    seconds = float(sys.argv[1])
    urls = sys.argv[2:]
    deadline = time.monotonic() + seconds
    totals = {"segments": 0, "bytes": 0, "errors": 0}
    await asyncio.gather(*(viewer(u, deadline, totals) for u in urls))
    print(f"viewers={len(urls)} segments={totals['segments']} bytes={totals['bytes']} errors={totals['errors']}")


asyncio.run(main())
