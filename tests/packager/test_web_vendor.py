"""The chat page's vendored libraries: pinned, licensed, and refreshed only from integrity-checked tarballs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from packager import web_vendor
from packager.web_vendor import VENDOR_DIR, VENDORED_FILES, read_pins
from tests.support.servers import ServerThread


def test_every_pinned_package_is_vendored_with_its_licence_and_version():
    pins = {pin.name: pin for pin in read_pins()}
    assert set(pins) == {"marked", "dompurify"}
    for name, files in VENDORED_FILES.items():
        for file_name in files.values():
            assert (VENDOR_DIR / file_name).is_file(), file_name
    # The files are the pinned versions (each library names its version in its header).
    assert f"marked v{pins['marked'].version}" in (VENDOR_DIR / "marked.umd.js").read_text()[:300]
    assert f"DOMPurify {pins['dompurify'].version}" in (VENDOR_DIR / "purify.min.js").read_text()[:300]
    assert "Permission is hereby granted" in (VENDOR_DIR / "LICENSE.marked").read_text()  # MIT
    assert "Apache License" in (VENDOR_DIR / "LICENSE.dompurify").read_text()


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class FakeRegistry:
    """The npm registry's two routes the script uses: version metadata (with dist.integrity) and the tarball."""

    def __init__(self) -> None:
        self.tarballs: dict[str, bytes] = {}
        self.metadata_integrity: dict[str, str] = {}
        self.server = ServerThread(Starlette(routes=[
            Route("/tarballs/{file}", self.tarball), Route("/{name}/{version}", self.metadata),
        ]), name="fake npm registry")

    async def metadata(self, request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        key = f"{name}-{version}.tgz"
        if key not in self.tarballs:
            return JSONResponse({"error": "version not found"}, status_code=404)
        return JSONResponse({"name": name, "version": version, "dist": {
            "integrity": self.metadata_integrity.get(key, integrity(self.tarballs[key])),
            "tarball": f"{self.server.url}/tarballs/{key}"}})

    async def tarball(self, request: Request) -> Response:
        return Response(self.tarballs[request.path_params["file"]], media_type="application/octet-stream")


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    with fake.server:
        yield fake


@pytest.fixture
def vendor_dir(tmp_path: Path) -> Path:
    shutil.copy(VENDOR_DIR / "VERSIONS", tmp_path / "VERSIONS")
    return tmp_path


def publish(registry: FakeRegistry, name: str, version: str, body: bytes) -> bytes:
    files = {path: body + f" {path}".encode() for path in VENDORED_FILES[name]}
    data = tarball({**files, "package/README.md": b"not vendored"})
    registry.tarballs[f"{name}-{version}.tgz"] = data
    return data


def run(registry: FakeRegistry, vendor_dir: Path, *extra: str) -> int:
    return web_vendor.main(["--registry", registry.server.url, "--vendor-dir", str(vendor_dir), *extra])


def test_pin_then_refresh_writes_only_the_named_files_from_a_verified_tarball(registry, vendor_dir):
    pins = {pin.name: pin for pin in read_pins(vendor_dir / "VERSIONS")}
    publish(registry, "marked", "99.0.0", b"new marked")
    publish(registry, "dompurify", pins["dompurify"].version, b"same dompurify")
    pins_file = vendor_dir / "VERSIONS"
    pins_file.write_text(pins_file.read_text().replace(
        pins["dompurify"].integrity, integrity(registry.tarballs[f"dompurify-{pins['dompurify'].version}.tgz"])))

    assert run(registry, vendor_dir, "--pin", "marked@99.0.0") == 0
    assert (vendor_dir / "marked.umd.js").read_bytes() == b"new marked package/lib/marked.umd.js"
    assert (vendor_dir / "LICENSE.marked").read_bytes() == b"new marked package/LICENSE"
    assert not (vendor_dir / "README.md").exists()
    new_pins = {pin.name: pin for pin in read_pins(pins_file)}
    assert new_pins["marked"].version == "99.0.0"
    assert new_pins["marked"].integrity == integrity(registry.tarballs["marked-99.0.0.tgz"])
    assert run(registry, vendor_dir, "--check") == 0  # what was written is what is pinned


def test_a_tarball_that_does_not_match_its_pin_is_refused_and_nothing_is_written(registry, vendor_dir, capsys):
    pins = {pin.name: pin for pin in read_pins(vendor_dir / "VERSIONS")}
    publish(registry, "marked", pins["marked"].version, b"tampered")
    # The registry's metadata claims the pinned integrity, but the bytes it serves differ.
    registry.metadata_integrity[f"marked-{pins['marked'].version}.tgz"] = pins["marked"].integrity
    assert run(registry, vendor_dir) == 2
    assert "integrity mismatch" in capsys.readouterr().err
    assert not (vendor_dir / "marked.umd.js").exists()


def test_metadata_whose_integrity_differs_from_the_pin_is_refused(registry, vendor_dir, capsys):
    pins = {pin.name: pin for pin in read_pins(vendor_dir / "VERSIONS")}
    publish(registry, "marked", pins["marked"].version, b"republished")
    assert run(registry, vendor_dir) == 2
    assert "is not the pinned" in capsys.readouterr().err


def test_check_reports_files_that_differ_from_the_pinned_package(registry, vendor_dir, capsys):
    data = publish(registry, "marked", "1.0.0", b"m")
    publish(registry, "dompurify", "2.0.0", b"d")
    (vendor_dir / "VERSIONS").write_text(
        f"marked 1.0.0 {integrity(data)}\ndompurify 2.0.0 {integrity(registry.tarballs['dompurify-2.0.0.tgz'])}\n")
    assert run(registry, vendor_dir) == 0
    (vendor_dir / "purify.min.js").write_bytes(b"edited by hand")
    assert run(registry, vendor_dir, "--check") == 1
    assert "purify.min.js differs" in capsys.readouterr().err
    assert (vendor_dir / "purify.min.js").read_bytes() == b"edited by hand"  # --check writes nothing
    assert json.loads(json.dumps([p.name for p in read_pins(vendor_dir / "VERSIONS")])) == ["marked", "dompurify"]
