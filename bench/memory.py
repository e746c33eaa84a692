"""Memory: the proxy process's resident set while it relays a large answer as fast as we read it."""

from __future__ import annotations

from bench.procfs import RssSampler, rss_bytes
from bench.report import Figure
from bench.timed_stream import read_from_proxy
from local.stack import LocalStack

GROWTH_TARGET_BYTES = 20 * 1024 * 1024
MIB = 1024 * 1024


def measure(stack: LocalStack, total_bytes: int, piece_size: int = 65536) -> list[Figure]:
    proxy_pid = stack.processes["proxy"].pid  # run.sh execs uvicorn: the same pid is the Python process
    # One small request first, so lazily created objects (the boto3 pool, thread stacks) count as baseline.
    read_from_proxy(stack.url, "memory warm-up [[pieces:20]] [[delay-ms:0]]")
    baseline = rss_bytes(proxy_pid)
    prompt = f"memory [[bytes:{total_bytes}]] [[piece-size:{piece_size}]] [[delay-ms:0]]"
    with RssSampler(proxy_pid) as sampler:
        stream = read_from_proxy(stack.url, prompt, keep_text=False)
    if stream.terminal != "done" or stream.delta_bytes != total_bytes:
        raise RuntimeError(f"memory run ended with {stream.terminal!r} after {stream.delta_bytes} bytes")
    growth = sampler.peak - baseline
    after = sampler.samples[-1]
    return [
        Figure(
            "memory",
            f"proxy RSS relaying {total_bytes / 1e6:.0f} MB ({len(sampler.samples)} samples)",
            f"baseline {baseline / MIB:.1f} MiB, peak {sampler.peak / MIB:.1f} MiB, after {after / MIB:.1f} MiB: "
            f"growth {growth / MIB:.1f} MiB",
            f"growth < {GROWTH_TARGET_BYTES // MIB} MiB",
            growth < GROWTH_TARGET_BYTES,
        )
    ]
