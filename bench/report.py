"""Benchmark figures, the machine they were measured on, and the Markdown table they are written as."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
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


def lscpu_fields() -> dict[str, str]:
    """lscpu's "Name: value" lines, or nothing where lscpu is missing."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    fields = {}
    for line in output.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip()] = value.strip()
    return fields


def machine_description() -> str:
    cpu = lscpu_fields()
    hardware = f"{cpu.get('Model name') or cpu_model()}, {cpu.get('CPU(s)') or os.cpu_count()} logical CPUs"
    if cpu.get("Thread(s) per core"):
        hardware += f" ({cpu['Thread(s) per core']} thread(s) per core"
        hardware += f", {cpu['Hypervisor vendor']} guest)" if cpu.get("Hypervisor vendor") else ")"
    return (
        f"{hardware} (lscpu), {platform.system()} {platform.release()} {platform.machine()}, "
        f"Python {platform.python_version()} ({sys.implementation.name})"
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


README_START = "<!-- bench results: written by `python3 dev.py bench` (a full run); do not edit by hand -->"
README_END = "<!-- end of bench results -->"


def update_readme(readme: Path, report: str) -> None:
    """Replace the results block of the performance page (docs/performance.md) with this report (its heading dropped, its lines kept)."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no results block ({README_START!r} ... {README_END!r})")
    body = report.split("\n", 2)[2].strip()  # drop "# Benchmark results" and the blank line after it
    readme.write_text(text[: start + len(README_START)] + "\n\n" + body + "\n\n" + text[end:], encoding="utf-8")
