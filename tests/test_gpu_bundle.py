"""The GPU bundle's drawn training files: the same questions a CPU run's ``--train PATH@N`` draws."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.readers.squad import load_squad
from qa.training.gpu_bundle import _bundle_name, sampled_squad
from qa.training.reader import sample_questions


def squad(n_articles: int = 4, per_paragraph: int = 3) -> dict:
    data = []
    for a in range(n_articles):
        paragraphs = []
        for p in range(2):
            context = f"第{a}篇第{p}段：钉钉用户超{a}{p}亿。"
            qas = [{"id": f"A{a}P{p}Q{q}", "question": f"问题{a}{p}{q}？",
                    "answers": [{"text": f"超{a}{p}亿", "answer_start": context.index("超")}]}
                   for q in range(per_paragraph)]
            paragraphs.append({"context": context, "qas": qas})
        paragraphs.append({"context": None, "qas": []})   # skipped by the loader, as in parse_squad
        data.append({"title": f"标题{a}", "paragraphs": paragraphs})
    return {"version": "test", "data": data}


@pytest.mark.parametrize("limit, seed", [(5, 13), (5, 14), (1, 7), (24, 13)])
def test_a_drawn_file_holds_the_questions_a_training_draw_takes(tmp_path, limit, seed):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad(), ensure_ascii=False), encoding="utf-8")
    drawn_file = tmp_path / "drawn.json"
    drawn_file.write_text(json.dumps(sampled_squad(str(path), limit, seed), ensure_ascii=False), encoding="utf-8")
    full = load_squad(path)
    expected = sample_questions(full.questions, limit, seed)
    got = load_squad(drawn_file)
    assert [q.id for q in got.questions] == [q.id for q in expected]
    assert got.questions == expected, "same text, answers and paragraph ids"
    contexts = {p.id: p.context for p in full.paragraphs}
    assert all(contexts[p.id] == p.context for p in got.paragraphs)
    assert {p.id for p in got.paragraphs} == {q.paragraph_id for q in expected}, "no paragraph without a question"


def test_without_a_limit_the_file_is_whole_and_names_say_what_was_drawn(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad(), ensure_ascii=False), encoding="utf-8")
    assert sampled_squad(str(path), None, 13) == squad()
    assert _bundle_name("../x/squad1.1_train_en.json", 30000) == "squad1.1_train_en.30000.json"
    assert _bundle_name("../x/DRCD_dev.json", None) == "DRCD_dev.json"


def test_a_bundle_refused_after_it_was_built_is_removed(tmp_path, monkeypatch):
    import qa.training.gpu_bundle as bundle_module

    def fake_pack(out, data_specs, seed, tokenizer, e5, staged):
        out.mkdir(parents=True)
        (out / "rows").write_bytes(b"x" * 4096)
        return 4096

    monkeypatch.setattr(bundle_module, "_pack", fake_pack)
    tree = bundle_module.tree_bytes(Path(bundle_module.__file__).resolve().parents[2], besides=tmp_path / "b")
    assert bundle_module.pack(tmp_path / "b", [], limit_bytes=tree + 4096) == 4096
    assert (tmp_path / "b" / "rows").exists(), "exactly the limit travels"
    with pytest.raises(SystemExit, match="bundle and the repository's files are"):
        bundle_module.pack(tmp_path / "c", [], limit_bytes=tree + 4095)
    assert not (tmp_path / "c").exists()


def test_pack_names_a_missing_or_malformed_file_in_one_line(tmp_path, capsys):
    from qa.training.gpu_bundle import main

    assert main(["pack", str(tmp_path / "b"), "--data", str(tmp_path / "nope.json@5")]) == 2
    assert "training file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": 5}', encoding="utf-8")
    assert main(["pack", str(tmp_path / "b"), "--data", f"{bad}@5", "--no-size-check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not SQuAD" in err and "\n" not in err


def _small_reader(folder):
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    save_file({f"layer{i}.weight": torch.full((256, 256), float(i)) for i in range(3)},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "zhqa_reader.json").write_text(json.dumps({"steps": 1}))
    return folder


def test_unshard_joins_only_every_part_and_keeps_the_reader_it_would_replace(tmp_path, capsys):
    from safetensors.torch import load_file

    from qa.training.gpu_bundle import BundleError, main, shard, unshard

    shard(_small_reader(tmp_path / "trained"), tmp_path / "parts", max_mb=0.3)   # 256 KiB a tensor: 3 parts
    assert sorted(p.name for p in (tmp_path / "parts").glob("reader-part*")) == [
        f"reader-part{i}.safetensors" for i in range(3)]
    target = _small_reader(tmp_path / "shipped")
    (target / "calibration.json").write_text("{}")
    before = (target / "model.safetensors").read_bytes()
    for gone in (1, 2):   # a middle part, and the last one (only the parts' own count tells)
        moved = tmp_path / f"part{gone}"
        (tmp_path / "parts" / f"reader-part{gone}.safetensors").rename(moved)
        with pytest.raises(BundleError, match=f"lacks part\\(s\\) {gone} of 3"):
            unshard(tmp_path / "parts", target)
        assert main(["unshard", str(tmp_path / "parts"), str(target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
        assert (target / "model.safetensors").read_bytes() == before
        moved.rename(tmp_path / "parts" / f"reader-part{gone}.safetensors")
    (tmp_path / "parts" / "reader-part0.safetensors").write_bytes(b"\0" * 50)
    assert main(["unshard", str(tmp_path / "parts"), str(target)]) == 2
    assert "reader-part0.safetensors cannot be read" in capsys.readouterr().err
    shard(tmp_path / "trained", tmp_path / "parts", max_mb=0.3)
    unshard(tmp_path / "parts", target)
    assert sorted(load_file(str(target / "model.safetensors"))) == ["layer0.weight", "layer1.weight", "layer2.weight"]
    assert not (target / "calibration.json").exists(), "it calibrated the weights just replaced"


def test_pack_and_assemble_refuse_folders_that_are_not_bundles(tmp_path, capsys):
    from qa.training.gpu_bundle import main

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps({"data": []}), encoding="utf-8")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    assert main(["pack", str(precious), "--data", str(data), "--no-size-check"]) == 2
    assert "is a folder of other files, not a bundle" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "mine" and len(list(precious.iterdir())) == 1
    assert main(["assemble", str(precious), str(tmp_path / "work")]) == 2
    assert "is not a bundle" in capsys.readouterr().err
    assert main(["shard", str(tmp_path / "nothing"), str(tmp_path / "out")]) == 2
    assert "cannot be read" in capsys.readouterr().err
