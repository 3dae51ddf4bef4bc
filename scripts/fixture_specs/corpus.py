"""Writes the corpus: every spec's body and sidecar, plus the real captures copied byte for byte;
`--check` compares with what is on disk instead."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.testing.streams import to_sse
from scripts.fixture_specs.common import SPECS, N, Spec

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
STREAMS = FIXTURES / "streams"
# The real captures are copied from here when it exists (it does not in CI: the copies in
# fixtures/streams/positive/openai-api/ are then left as they are).
SEED = Path(os.environ.get("FIXTURES_SEED", ROOT.parent / "shared" / "fixtures-seed"))
CAPTURES = "positive/openai-api/"
# The two gpt-oss captures have no seed sidecar; their provenance is the seed README's.
GPT_OSS_CAPTURES: dict[str, dict[str, Any]] = {
    "basic-text-with-reasoning": {
        "path": "tests-data/basic-event-stream.txt",
        "features": ["reasoning", "text"],
        "notes": "Reasoning item (empty summary), message with 10 text deltas, usage.",
    },
    "web-search-with-citations": {
        "path": "tests-data/web-search-event-stream.txt",
        "features": ["web_search", "annotations", "text"],
        "notes": "web_search_call items with in_progress/searching/completed, message with url_citation annotations, 172 text deltas.",
    },
}


def _stream_model(raw: bytes) -> str | None:
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("data:") and '"response.created"' in line:
            try:
                return json.loads(line[5:])["response"]["model"]
            except (ValueError, KeyError, TypeError):
                return None
    return None


def capture_sidecar(name: str, raw: bytes, meta: dict[str, Any] | None) -> dict[str, Any]:
    if meta is not None:
        prov = {"source": "capture", "provider": meta.get("provider", "openai-api")}
        prov.update(
            {
                k: meta[k]
                for k in ("repo", "path", "commit", "model", "features", "reconstructed", "notes")
                if k in meta
            }
        )
        description = f"Real api.openai.com stream ({', '.join(meta.get('features', []))}), recorded in {meta['repo']}."
    else:
        extra = GPT_OSS_CAPTURES[name]
        prov = {
            "source": "capture",
            "provider": "openai-api",
            "repo": "openai/gpt-oss",
            "path": extra["path"],
            "commit": None,
            "license": "Apache-2.0",
            "model": _stream_model(raw),
            "features": extra["features"],
            "reconstructed": False,
            "notes": "Published in the test data of the openai/gpt-oss repository (July 2025). "
            + extra["notes"],
        }
        description = f"Real api.openai.com stream ({', '.join(extra['features'])}), published by openai/gpt-oss."
    return {
        "description": description,
        "provenance": prov,
        "kind": "sse",
        "expected": {"errors": []},
    }


def sidecar(sp: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": sp.description,
        "spec": sp.name,
        "provenance": sp.provenance,
        "kind": sp.kind,
    }
    if sp.profile:
        out["profile"] = sp.profile
    if sp.tolerate:
        out["tolerate"] = list(sp.tolerate)
    if sp.target_kind:
        out["target_kind"] = sp.target_kind
    if sp.request is not None:
        out["request"] = sp.request
    if sp.content_type is not None:
        out["content_type"] = sp.content_type
    expected: dict[str, Any] = {"errors": sorted(sp.errors)}
    if sp.warnings:
        expected["warnings"] = sorted(sp.warnings)
    if sp.infos:
        expected["infos"] = sorted(sp.infos)
    out["expected"] = expected
    return out


def _json_file(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def body_bytes(sp: Spec) -> bytes:
    body = sp.build()
    if sp.kind == "json":
        return _json_file(body)
    if isinstance(body, bytes):
        return body
    return to_sse(body)


def generate() -> dict[str, bytes]:
    """Every generated file, keyed by its path relative to fixtures/streams/."""
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    for sp in SPECS:
        for key in (sp.path, sp.name):
            if key in seen:
                raise SystemExit(f"two fixture specs named {key}")
            seen.add(key)
        ext = ".body.json" if sp.kind == "json" else ".sse"
        files[sp.path + ext] = body_bytes(sp)
        files[sp.path + ".json"] = _json_file(sidecar(sp))
    seed_dir = SEED / "openai-api"
    if seed_dir.is_dir():
        for sse in sorted(seed_dir.glob("*.sse")):
            raw = sse.read_bytes()
            meta_path = sse.with_suffix(".json")
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
            files[CAPTURES + sse.name] = raw
            files[CAPTURES + sse.stem + ".json"] = _json_file(capture_sidecar(sse.stem, raw, meta))
    else:
        # No seed here (CI): the committed copies are the source of truth.
        for f in sorted((STREAMS / CAPTURES).glob("*")):
            files[CAPTURES + f.name] = f.read_bytes()
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/make_fixtures.py",
        description="Regenerate the built fixtures of fixtures/streams/ from scripts/fixture_specs/.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if fixtures/ differs from what would be generated",
    )
    parser.add_argument(
        "--list", action="store_true", help="print each spec's name and fixture path, write nothing"
    )
    args = parser.parse_args(argv)
    if args.list:
        for sp in sorted(SPECS, key=lambda sp: sp.name):
            print(f"{sp.name}  {sp.path}")
        return 0
    files = generate()
    on_disk = (
        {str(p.relative_to(STREAMS)): p for p in STREAMS.rglob("*") if p.is_file()}
        if STREAMS.exists()
        else {}
    )
    if args.check:
        stale = sorted(k for k in files if k not in on_disk or on_disk[k].read_bytes() != files[k])
        extra = sorted(k for k in on_disk if k not in files)
        for k in stale:
            print(f"differs or missing: fixtures/streams/{k}")
        for k in extra:
            print(f"not generated: fixtures/streams/{k}")
        return 1 if stale or extra else 0
    if STREAMS.exists():
        shutil.rmtree(STREAMS)
    for rel, data in sorted(files.items()):
        path = STREAMS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    n_neg = sum(1 for sp in SPECS if sp.path.startswith(N))
    print(
        f"wrote {len(files)} files: {len(SPECS) - n_neg} built positive, {n_neg} negative fixtures, "
        f"{sum(1 for k in files if k.startswith(CAPTURES) and k.endswith('.sse'))} captures"
    )
    return 0
