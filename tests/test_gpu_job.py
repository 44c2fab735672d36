"""The one-call GPU training job, rehearsed on the CPU: pack here, run the script, take the parts back.

Why: a lent GPU comes with minutes of device time, so the job must work the first time it runs
there; this runs the same script on a few questions with DEVICE=cpu.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_train_reader import SQUAD

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[1]


def test_the_gpu_job_trains_from_a_bundle_and_leaves_parts_that_come_back(tmp_path):
    from safetensors.torch import load_file

    from qa.reader.loading import reader_folder
    from qa.training.gpu_bundle import pack, unshard

    data = tmp_path / "tiny_train.json"
    data.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    size = pack(tmp_path / "bundle", [f"{data}@2"], seed=3)
    assert size < 16 * 2**20
    out = tmp_path / "out"
    env = dict(os.environ, DEVICE="cpu", PYTHON=sys.executable, HF_HUB_OFFLINE="1")
    done = subprocess.run(["bash", "qa/training/gpu_job.sh", str(tmp_path / "bundle"), str(out), "10m",
                           "--max-steps", "2", "--max-length", "64", "--stride", "16", "--batch-size", "2",
                           "--code-switch", "1.0", "--distill", "1.0", "--seed", "3"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and all((out / f).stat().st_size < 16 * 2**20 for f in files), files
    log = (out / "train.log").read_text()
    assert "examples: 4" in log, "two questions drawn, each also code-switched"
    unshard(out, tmp_path / "reader")
    trained = load_file(str(tmp_path / "reader" / "model.safetensors"))
    shipped = load_file(str(reader_folder(None) / "model.safetensors"))
    assert trained.keys() == shipped.keys()
    assert any(not (trained[k] == shipped[k]).all() for k in trained), "two steps moved the weights"
    meta = json.loads((tmp_path / "reader" / "zhqa_reader.json").read_text())
    assert meta["steps"] == 2 and meta["config"]["code_switch"] == 1.0


def test_a_bundle_that_would_not_travel_is_refused(tmp_path):
    from qa.training.gpu_bundle import check_travel_size, pack

    check_travel_size(20 * 2**20, 44 * 2**20, 64 * 2**20)   # exactly the limit travels
    with pytest.raises(SystemExit, match="are 65.0 MiB, more than the 64 MiB .* draw fewer questions"):
        check_travel_size(21 * 2**20, 44 * 2**20, 64 * 2**20)
    check_travel_size(200 * 2**20, 44 * 2**20, None)
    data = tmp_path / "tiny_train.json"
    data.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit, match="repository.s files are .* more than the 1 MiB"):
        pack(tmp_path / "bundle", [str(data)], limit_bytes=2**20)
    assert not (tmp_path / "bundle").exists(), "refused before anything was written"
