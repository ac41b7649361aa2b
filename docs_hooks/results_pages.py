"""MkDocs hook: a page per results file (benchmarks/results/**/*.json), generated at build time.

Each page shows the run's command, its figures (the PNGs the run wrote beside its JSON) and every table the
JSON holds (each list of records), so the site never quotes a number that its file does not hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FOLDER = "results-files"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return " ".join(str(value).split()).replace("|", "\\|") if value is not None else ""


def _tables(value: Any, where: str) -> list[str]:
    """A Markdown table for every list of records in `value`, headed by where it sits in the file."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _tables(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = [
            k for k in dict.fromkeys(k for v in value for k in v) if all(_scalar(v.get(k)) for v in value)
        ]
        if columns:
            out += [f"### `{where}`", "", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
            out += ["| " + " | ".join(_cell(v.get(c)) for c in columns) + " |" for v in value]
            out.append("")
        for i, item in enumerate(value):
            nested = _tables({k: v for k, v in item.items() if not _scalar(v)}, f"{where}[{i}]")
            out += nested
    return out


def render(path: Path) -> str:
    data = json.loads(path.read_text())
    name = path.relative_to(RESULTS).with_suffix("").as_posix()
    out = [f"# {name}", "", f"Generated from `benchmarks/results/{name}.json` when this site was built.", ""]
    if isinstance(data, dict) and data.get("command"):
        out += ["```bash", str(data["command"]), "```", ""]
    for png in sorted(path.parent.glob(f"{path.stem}*.png")):
        if png.stem == path.stem or png.stem == f"{path.stem}-curve":
            out += [f"![{png.stem}]({png.name})", ""]
    if isinstance(data, dict):
        facts = [(k, v) for k, v in data.items() if _scalar(v) and k != "command"]
        if facts:
            out += ["| field | value |", "| --- | --- |", *(f"| `{k}` | {_cell(v)} |" for k, v in facts), ""]
    out += _tables(data, "")
    out += ['??? note "The whole file"', "", "    ```json"]
    out += ["    " + line for line in json.dumps(data, indent=1).splitlines()]
    out += ["    ```", ""]
    return "\n".join(out) + "\n"


def results_files() -> list[Path]:
    return sorted(RESULTS.rglob("*.json"))


def on_files(files: Files, config: MkDocsConfig) -> Files:
    index = [
        "# Results files",
        "",
        "One page per file in `benchmarks/results/`, generated from it when this site was built. What the "
        "figures mean and how they compare: [Results](../results.md).",
        "",
    ]
    for path in results_files():
        name = path.relative_to(RESULTS).with_suffix("").as_posix()
        files.append(File.generated(config, f"{FOLDER}/{name}.md", content=render(path)))
        index.append(f"- [{name}]({name}.md)")
        for png in path.parent.glob(f"{path.stem}*.png"):
            rel = f"{FOLDER}/{png.relative_to(RESULTS).as_posix()}"
            if files.get_file_from_path(rel) is None:
                files.append(File.generated(config, rel, abs_src_path=str(png)))
    files.append(File.generated(config, f"{FOLDER}/index.md", content="\n".join(index) + "\n"))
    return files
