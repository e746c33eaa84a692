"""CPU per event of reading one streamed response: httpcore's AsyncConnectionPool against the proxy's
own client (proxy/streaming_proxy/upstream_http.py: h11 over an asyncio protocol), both on uvloop.

A server process writes N small SSE frames in a chunked body, one every GAP seconds (0: back to back);
a fresh client process per round reads one warm-up response and then times its own CPU
(time.process_time) over the second on the same pooled connection. Rounds alternate between the two.

    N=2000 GAP=0.001 ROUNDS=3 .venv/bin/python bench/upstream_client_cost.py
    N=20000 GAP=0 ROUNDS=3 .venv/bin/python bench/upstream_client_cost.py

(README, Performance: "Reading AgentCore on the event loop".)
"""
import asyncio, os, socket, sys, time, multiprocessing, statistics
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "proxy"))
N = int(os.environ.get("N", "2000")); GAP = float(os.environ.get("GAP", "0.001"))
FRAME = b'data: {"type": "delta", "text": "hello wor"}\n\n'

def serve(port_queue):
    listener = socket.create_server(("127.0.0.1", 0)); port_queue.put(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            data = b""
            while b"\r\n\r\n" not in data:
                part = conn.recv(65536)
                if not part: break
                data += part
            if not data: break
            head = data.split(b"\r\n\r\n")[0]
            length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0] or 0)
            body = data.split(b"\r\n\r\n",1)[1]
            while len(body) < length: body += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (len(FRAME), FRAME)
            next_at = time.monotonic()
            for _ in range(N):
                conn.sendall(chunk)
                next_at += GAP
                delay = next_at - time.monotonic()
                if delay > 0: time.sleep(delay)
            conn.sendall(b"0\r\n\r\n")
        conn.close()

async def with_httpcore(port):
    import httpcore
    async with httpcore.AsyncConnectionPool() as pool:
        for warm in (True, False):
            t = time.process_time()
            async with pool.stream("POST", f"http://127.0.0.1:{port}/x", content=b"{}") as response:
                async for part in response.aiter_stream():
                    pass
            if not warm: return time.process_time() - t

async def with_ours(port):
    from streaming_proxy.upstream_http import ConnectionPool, Origin, request
    pool = ConnectionPool(Origin("http", "127.0.0.1", port), 5, 4, None)
    for warm in (True, False):
        t = time.process_time()
        response = await request(pool, "POST", "/x", [("Host", f"127.0.0.1:{port}"), ("Content-Length", "2")], b"{}", 30)
        while await response.read():
            pass
        if not warm: return time.process_time() - t

def run(which, port, loop_name, out):
    import uvloop
    main = {"httpcore": with_httpcore, "h11 (ours)": with_ours}[which](port)
    out.put((uvloop.run(main) if loop_name == "uvloop" else asyncio.run(main)))

if __name__ == "__main__":
    q = multiprocessing.Queue(); server = multiprocessing.Process(target=serve, args=(q,), daemon=True); server.start()
    port = q.get()
    results = {}
    for round_ in range(int(os.environ.get("ROUNDS", "5"))):
        for which in ("httpcore", "h11 (ours)"):
            out = multiprocessing.Queue()
            p = multiprocessing.Process(target=run, args=(which, port, "uvloop", out)); p.start(); p.join()
            results.setdefault(which, []).append(out.get() / N * 1e6)
    for which, values in results.items():
        print(f"{which}: {statistics.median(values):.1f} µs per event ({min(values):.1f}..{max(values):.1f}, {len(values)} runs), N={N}, gap {GAP*1000:.1f} ms")
