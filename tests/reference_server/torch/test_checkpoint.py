"""Loading gpt-oss checkpoints: a tiny checkpoint written in the on-disk format reproduces the
in-memory model; partial or inconsistent checkpoints fail with a message naming the problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from reference_server.protocol.token_backend import BackendError
from reference_server.sources.backends.torch import create_backend
from reference_server.sources.backends.torch.checkpoint import CheckpointError, load_checkpoint
from reference_server.sources.backends.torch.config import ConfigError
from reference_server.sources.backends.torch.model import GptOss
from reference_server.sources.backends.torch.mxfp4 import dequantize

from .ckpt_writer import quantize_mxfp4, snap_to_disk_precision, write_checkpoint


@pytest.fixture(scope="module")
def written(tiny_model: GptOss, tmp_path_factory: pytest.TempPathFactory) -> tuple[GptOss, Path]:
    model = copy.deepcopy(tiny_model)
    folder = write_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "gpt-oss-tiny")
    snap_to_disk_precision(model)  # what the checkpoint holds, in memory
    return model, folder


def test_mxfp4_round_trip_is_exact_on_representable_values() -> None:
    w = torch.randn(3, 4, 64, generator=torch.Generator().manual_seed(0)) * 5
    blocks, scales, values = quantize_mxfp4(w)
    assert blocks.dtype == torch.uint8 and blocks.shape == (3, 4, 2, 16) and scales.shape == (3, 4, 2)
    assert torch.equal(dequantize(blocks, scales), values)
    # Quantisation is coarse but faithful: 4-bit values within a factor of the block maximum.
    assert (values - w).abs().max() <= w.abs().max() / 4 + 1e-6
    # Nibble order: low nibble is the even element.
    one = torch.zeros(1, 32)
    one[0, 0], one[0, 1] = 1.0, -6.0
    blk, sc, _ = quantize_mxfp4(one)
    assert int(sc[0, 0]) == 127 and int(blk[0, 0, 0]) == (0b0010 | (0b1111 << 4))


def test_checkpoint_reproduces_the_in_memory_model(written: tuple[GptOss, Path]) -> None:
    model, folder = written
    loaded = load_checkpoint(folder)
    assert loaded.cfg == model.cfg
    for (name, a), (_, b) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    toks = torch.tensor([200006, 1428, 200008, 13225, 200007, 200006, 173781, 200005, 12, 99, 5, 7])
    assert torch.allclose(loaded(toks), model(toks), atol=1e-5)


def test_hugging_face_layout_with_original_folder(written: tuple[GptOss, Path], tmp_path: Path) -> None:
    _, folder = written
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "original").symlink_to(folder, target_is_directory=True)
    assert load_checkpoint(tmp_path / "repo").cfg.hidden_size == 64


def test_backend_from_checkpoint_generates(written: tuple[GptOss, Path]) -> None:
    _, folder = written
    backend = create_backend(checkpoint=str(folder), threads=1)
    try:
        assert backend.model_id == "gpt-oss-torch:gpt-oss-tiny"
        assert backend.scheduler.budget == 2048 and not backend.scheduler.tight_schemas
    finally:
        backend.scheduler.stop()


def _variant(written: tuple[GptOss, Path], tmp_path: Path, **kw) -> Path:
    model, _ = written
    return write_checkpoint(model, tmp_path / "bad", **kw)


def test_missing_tensor_is_named(written: tuple[GptOss, Path], tmp_path: Path) -> None:
    folder = _variant(written, tmp_path, drop=("block.1.attn.sinks",))
    with pytest.raises(CheckpointError, match=r"missing tensor 'block\.1\.attn\.sinks'"):
        load_checkpoint(folder)


def test_missing_mxfp4_scales_are_named(written: tuple[GptOss, Path], tmp_path: Path) -> None:
    folder = _variant(written, tmp_path, drop=("block.0.mlp.mlp2_weight.scales",))
    with pytest.raises(CheckpointError, match=r"block\.0\.mlp\.mlp2_weight\.scales"):
        load_checkpoint(folder)


def test_wrong_shape_is_named_with_both_shapes(written: tuple[GptOss, Path], tmp_path: Path) -> None:
    folder = _variant(written, tmp_path, replace={"block.0.attn.qkv.bias": torch.zeros(7, dtype=torch.bfloat16)})
    with pytest.raises(CheckpointError, match=r"'block\.0\.attn\.qkv\.bias' has shape \[7\], expected \[256\]"):
        load_checkpoint(folder)


def test_config_disagreeing_with_tensors(written: tuple[GptOss, Path], tmp_path: Path) -> None:
    model, _ = written
    cfg = model.cfg.to_dict() | {"num_experts": 8}
    folder = _variant(written, tmp_path, config=cfg)
    with pytest.raises(CheckpointError, match=r"block\.0\.mlp\.gate\.weight' has shape \[4, 64\], expected \[8, 64\]"):
        load_checkpoint(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden_size": None}, "missing key 'hidden_size'"),
        ({"num_key_value_heads": 3}, "multiple of num_key_value_heads"),
        ({"experts_per_token": 9}, "exceeds num_experts"),
        ({"vocab_size": 1000}, "smaller than the harmony vocabulary"),
        ({"head_dim": "64"}, "head_dim must be a number"),
    ],
)
def test_bad_config_values(written: tuple[GptOss, Path], tmp_path: Path, change: dict, message: str) -> None:
    _, folder = written
    target = tmp_path / "cfg"
    target.mkdir()
    for f in folder.glob("*.safetensors"):
        (target / f.name).symlink_to(f)
    cfg = json.loads((folder / "config.json").read_text())
    for k, v in change.items():
        if v is None:
            del cfg[k]
        else:
            cfg[k] = v
    (target / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=message):
        load_checkpoint(target)


def test_unusable_directories(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match=r"no config\.json"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises((ConfigError, CheckpointError)):
        load_checkpoint(tmp_path)


def test_bad_backend_options() -> None:
    with pytest.raises(BackendError, match="unknown torch backend option"):
        create_backend(presett="tiny")
    with pytest.raises(BackendError, match="unknown model preset 'huge'"):
        create_backend(preset="huge")
    with pytest.raises(BackendError, match="unsupported dtype"):
        create_backend(dtype="int4")
