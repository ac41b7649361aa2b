"""Re-vendor NiiVue for the web page: `python -m services.gateway.update_niivue 0.69.0` (needs npm).

What it writes under services/gateway/static/vendor/, reproducibly from the npm registry:
- `niivue.umd.js.gz`: the package's own built file `dist/niivue.umd.js`, byte for byte, gzipped (level 9, no
  name, no time stamp) because the built file is over the repository's 2 MB per-file limit; the gateway
  serves it with `Content-Encoding: gzip`, so browsers receive the original file.
- `niivue.json`: version, the registry's integrity of the tarball, the sha256 and size of the built file
  (a test checks the vendored file against them), and each package bundled into it with its licence.
- `THIRD-PARTY-NOTICES.txt`: the licence text of every package bundled into the built file (taken from the
  packages' own tarballs, at the versions npm resolves today for this release's dependency ranges).
`LICENSE-niivue.txt` is NiiVue's own BSD-2-Clause licence, from its source repository: the npm package does
not ship one. The script refuses a release whose declared licence is no longer BSD-2-Clause, so that text is
reviewed by a person rather than silently kept.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@niivue/niivue"
BUILT_FILE = "dist/niivue.umd.js"
BUNDLE_MAP = "dist/metafile-esm.json"  # esbuild's list of the modules bundled into the build
LICENCE = "BSD-2-Clause"
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"


def npm(*args: str, cwd: Path) -> str:
    """Run npm with no install scripts and no telemetry; its stdout."""
    done = subprocess.run(
        ["npm", *args, "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def bundled_packages(bundle_map: dict[str, Any]) -> list[str]:
    """Names of the npm packages whose modules esbuild put into the build."""
    names: set[str] = set()
    for source in bundle_map["inputs"]:
        if "node_modules/" not in source:
            continue
        parts = source.rsplit("node_modules/", 1)[1].split("/")
        names.add("/".join(parts[:2]) if parts[0].startswith("@") else parts[0])
    return sorted(names)


def licence_text(package_dir: Path) -> str:
    """The licence file a package ships (LICENSE, LICENSE.md, license, ...)."""
    for candidate in sorted(package_dir.iterdir()):
        if candidate.is_file() and candidate.name.lower().startswith(("license", "licence", "copying")):
            return candidate.read_text(encoding="utf-8").strip()
    raise SystemExit(f"{package_dir.name}: no licence file in its package; review it by hand")


def vendor(version: str, out: Path = VENDOR_DIR) -> dict[str, Any]:
    """Fetch the release, check it, and write the vendored files; returns the record written to niivue.json."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        [packed] = json.loads(
            npm("pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(tmp), cwd=tmp)
        )
        tarball = tmp / packed["filename"]
        algorithm, expected = packed["integrity"].split("-", 1)
        actual = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
        if actual != expected:
            raise SystemExit(f"{tarball.name}: {algorithm} does not match the registry's integrity")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp / "unpacked", filter="data")
        package = tmp / "unpacked" / "package"
        manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
        if manifest.get("license") != LICENCE:
            raise SystemExit(
                f"{PACKAGE} {version} declares licence {manifest.get('license')!r}, not {LICENCE}"
            )
        built = (package / BUILT_FILE).read_bytes()

        # The dependency tree of this release, to take each bundled package's licence from its own tarball.
        (tmp / "deps").mkdir()
        (tmp / "deps" / "package.json").write_text('{"private": true}', encoding="utf-8")
        npm("install", "--omit=optional", f"{PACKAGE}@{version}", cwd=tmp / "deps")
        modules = tmp / "deps" / "node_modules"
        bundled: dict[str, dict[str, str]] = {}
        notices = [f"Packages bundled into {PACKAGE} {version} ({BUILT_FILE}), with their licences.\n"]
        for name in bundled_packages(json.loads((package / BUNDLE_MAP).read_text(encoding="utf-8"))):
            info = json.loads((modules / name / "package.json").read_text(encoding="utf-8"))
            bundled[name] = {"version": info["version"], "license": str(info.get("license"))}
            notices.append(f"{'=' * 78}\n{name} {info['version']} ({info.get('license')})\n{'=' * 78}\n")
            notices.append(licence_text(modules / name) + "\n")

    out.mkdir(parents=True, exist_ok=True)
    (out / "niivue.umd.js.gz").write_bytes(gzip.compress(built, compresslevel=9, mtime=0))
    (out / "THIRD-PARTY-NOTICES.txt").write_text("\n".join(notices), encoding="utf-8")
    record = {
        "package": PACKAGE,
        "version": version,
        "file": BUILT_FILE,
        "tarball_integrity": packed["integrity"],
        "sha256": hashlib.sha256(built).hexdigest(),
        "bytes": len(built),
        "license": LICENCE,
        "bundled": bundled,
        "update": f"python -m services.gateway.update_niivue {version}",
    }
    (out / "niivue.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main() -> None:
    """Command line: the NiiVue version to vendor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="exact @niivue/niivue release, e.g. 0.69.0")
    args = parser.parse_args()
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed (Debian: apt-get install -y npm)")
    record = vendor(args.version)
    print(
        f"vendored {record['package']} {record['version']}: {record['bytes']} bytes, sha256 {record['sha256']}"
    )


if __name__ == "__main__":
    main()
