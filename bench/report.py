"""Benchmark figures, the machine they were measured on, and the Markdown table they are written as."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    part: str  # latency, throughput, memory, concurrency, cold-start
    name: str
    value: str
    target: str = ""
    # True / False when the figure has a target; None when it is informative only.
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("PASS" if self.met else "MISS")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()} "
        f"{platform.machine()}, Python {platform.python_version()} ({sys.implementation.name})"
    )


def render_table(figures: list[Figure]) -> str:
    rows = ["| part | figure | measured | target | verdict |", "| --- | --- | --- | --- | --- |"]
    for figure in figures:
        rows.append(f"| {figure.part} | {figure.name} | {figure.value} | {figure.target} | {figure.verdict} |")
    return "\n".join(rows)


def render_report(figures: list[Figure], notes: list[str], command: str) -> str:
    measured_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"- Measured: {measured_at}",
        f"- Machine: {machine_description()}",
        f"- Command: `{command}`",
        "",
        render_table(figures),
    ]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write_report(path: Path, text: str) -> None:
    # Write then rename: an interrupted run never leaves half a table behind.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
