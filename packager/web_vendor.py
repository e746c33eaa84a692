"""Refresh the chat page's vendored libraries (web/vendor/) from the npm registry.

    python3 packager/web_vendor.py                 re-download the pinned versions and write their files
    python3 packager/web_vendor.py --check         download, verify, and report files that differ (exit 1)
    python3 packager/web_vendor.py --pin marked@18.2.1
                                                   pin another version (its integrity from the registry)

The pins live in web/vendor/VERSIONS, one package a line: `<name> <version> <sha512 integrity>`.
Each tarball is checked against the pinned integrity (the registry's `dist.integrity`, a base64
SHA-512 of the .tgz) before anything is extracted, and only the files named in VENDORED_FILES are
written. Users never run this: the files are committed, so the page has no build step.
Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO_ROOT / "web" / "vendor"
VERSIONS_FILE = VENDOR_DIR / "VERSIONS"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
# package -> {path inside the tarball: file name under web/vendor/}
VENDORED_FILES: dict[str, dict[str, str]] = {
    "marked": {
        "package/lib/marked.umd.js": "marked.umd.js",
        "package/LICENSE": "LICENSE.marked",
    },
    "dompurify": {
        "package/dist/purify.min.js": "purify.min.js",
        "package/LICENSE": "LICENSE.dompurify",
    },
}
TIMEOUT_SECONDS = 60


class VendorError(RuntimeError):
    pass


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    # npm's Subresource Integrity string: "sha512-<base64 digest of the tarball>".
    integrity: str


def read_pins(path: Path = VERSIONS_FILE) -> list[Pin]:
    pins = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("sha512-"):
            raise VendorError(f"{path}:{number}: expected '<name> <version> sha512-<base64>', got {line!r}")
        pins.append(Pin(*parts))
    unknown = {pin.name for pin in pins} ^ set(VENDORED_FILES)
    if unknown:
        raise VendorError(f"{path}: pins and VENDORED_FILES must name the same packages; differ in {sorted(unknown)}")
    return pins


def write_pins(pins: list[Pin], path: Path = VERSIONS_FILE) -> None:
    header = "# name version integrity (npm dist.integrity); refresh with: python3 packager/web_vendor.py\n"
    path.write_text(header + "".join(f"{pin.name} {pin.version} {pin.integrity}\n" for pin in pins))


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (https registry URL)
        return bytes(response.read())


def version_metadata(registry: str, name: str, version: str) -> dict:
    return dict(json.loads(fetch(f"{registry.rstrip('/')}/{name}/{version}")))


def verify_integrity(data: bytes, integrity: str) -> None:
    expected = integrity.removeprefix("sha512-")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise VendorError(f"integrity mismatch: pinned sha512-{expected}, downloaded sha512-{actual}")


def extract(data: bytes, wanted: dict[str, str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.name in wanted and member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                found[wanted[member.name]] = extracted.read()
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        raise VendorError(f"the tarball lacks {missing}")
    return found


def package_files(registry: str, pin: Pin) -> dict[str, bytes]:
    """The vendored files of one pinned package, from a tarball whose integrity matched the pin."""
    metadata = version_metadata(registry, pin.name, pin.version)
    dist = metadata.get("dist", {})
    if dist.get("integrity") != pin.integrity:
        raise VendorError(f"{pin.name}@{pin.version}: the registry's integrity {dist.get('integrity')!r} "
                          f"is not the pinned {pin.integrity!r}")
    data = fetch(dist["tarball"])
    try:
        verify_integrity(data, pin.integrity)
    except VendorError as error:
        raise VendorError(f"{pin.name}@{pin.version}: {error}") from None
    return extract(data, VENDORED_FILES[pin.name])


def refresh(registry: str, vendor_dir: Path, pins: list[Pin], check: bool) -> list[str]:
    """Write (or with check, compare) every vendored file; returns the names that differed."""
    differing = []
    for pin in pins:
        for file_name, content in package_files(registry, pin).items():
            target = vendor_dir / file_name
            if not target.exists() or target.read_bytes() != content:
                differing.append(file_name)
                if not check:
                    target.write_bytes(content)
    return differing


def pin_version(registry: str, spec: str, pins: list[Pin]) -> list[Pin]:
    name, _, version = spec.partition("@")
    if name not in VENDORED_FILES or not version:
        raise VendorError(f"--pin takes NAME@VERSION with NAME one of {sorted(VENDORED_FILES)}, got {spec!r}")
    integrity = version_metadata(registry, name, version).get("dist", {}).get("integrity", "")
    if not integrity.startswith("sha512-"):
        raise VendorError(f"{name}@{version}: the registry gives no sha512 integrity")
    return [Pin(name, version, integrity) if pin.name == name else pin for pin in pins]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 packager/web_vendor.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 when a vendored file differs")
    parser.add_argument("--pin", action="append", default=[], metavar="NAME@VERSION",
                        help="pin another version before refreshing (repeatable)")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="npm registry URL (default: %(default)s)")
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR_DIR, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    versions_file = arguments.vendor_dir / "VERSIONS"
    try:
        pins = read_pins(versions_file)
        for spec in arguments.pin:
            pins = pin_version(arguments.registry, spec, pins)
        differing = refresh(arguments.registry, arguments.vendor_dir, pins, arguments.check)
        if arguments.pin and not arguments.check:
            write_pins(pins, versions_file)
    except (VendorError, OSError, ValueError) as error:
        print(f"web_vendor: {error}", file=sys.stderr)
        return 2
    if arguments.check:
        for name in differing:
            print(f"web_vendor: {name} differs from the pinned package", file=sys.stderr)
        return 1 if differing else 0
    print("web_vendor: " + ", ".join(f"{pin.name} {pin.version}" for pin in pins)
          + (f"; updated {', '.join(differing)}" if differing else "; already up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
