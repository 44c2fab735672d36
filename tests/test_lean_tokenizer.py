"""The SentencePiece tokenizer answering uses gives `tokenizers`' ids and offsets for the same
tokenizer.json (the embedded encoder's), on the article, on awkward text and on fuzzed strings."""
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.aligned_normalizer import AlignedNormalizer, UnsupportedNormalizer
from index.e5_convert import embedded_e5_path, shared_lean_tokenizer
from index.lean_tokenizer import LeanTokenizer, UnsupportedTokenizer, write_lean_tokenizer
from tests.conftest import SAMPLE

AWKWARD = [
    "", " ", "   ", "中文", " 2007年2月8日 ，BskyB宣布", "\u30006月23日，印度\r\n\r\n\u3000\u3000据路透社23日",
    "Who said Tibet  wasn't an integral part of of China?", "aggregators", "\xa017日，国家主席", "a  b   c ",
    "ﬁnance ①②③ ㎏ … ＡＢＣ１２３", "控制\x00字符\x07和\u200b零宽\ufeff", "<s>x</s> <pad> a<mask>b <unk>",
    "<\x07s> tag split by a control char", "a\u2581b ▁ c", "😀 emoji 🇨🇳", "\t\n\r", "한국어 텍스트",
    # vowels NFKC joins from two marks that are not combining marks (Tamil, Bengali, Malayalam)
    "中文 க\u0bc6\u0bbeடு 结尾的一段文字", "ক\u09c7\u09d7 文字", "ക\u0d46\u0d3e 文字",
]


@pytest.fixture(scope="module")
def pair():
    from tokenizers import Tokenizer

    folder = embedded_e5_path()
    return shared_lean_tokenizer(), Tokenizer.from_file(str(folder / "tokenizer.json"))


def _composes(text: str) -> bool:
    return any(unicodedata.combining(c) or "\u1161" <= c <= "\u11c2" for c in text)


def _check(lean, reference, text: str) -> None:
    want = reference.encode(text, add_special_tokens=False)
    ids, offsets = lean.tokens(text)
    assert ids == want.ids, (text, want.tokens)
    if not _composes(text):   # composed characters may be placed one character off (documented)
        assert offsets == [tuple(o) for o in want.offsets], (text, want.tokens)
    assert lean.tokens(text, offsets=False) == (ids, [])


def test_ids_and_offsets_match_tokenizers_on_the_article_and_awkward_text(pair):
    lean, reference = pair
    article = SAMPLE.read_text(encoding="utf-8")
    for text in AWKWARD + article.splitlines() + [article]:
        _check(lean, reference, text)


_ALPHABET = list("ab 中文，。　\u00a0\t\n ﬁ①㎏…ＡＢ１２e\u0301ᄀ\u1161\u11a8한x\x00\x07\u200b\ufeff\u2581😀<>/s") + \
    ["<s>", "</s>", "<pad>", "<mask>", "<unk>", "  ", "Tibet", "的", "2023"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ALPHABET), max_size=40).map("".join))
def test_fuzzed_strings_tokenize_as_tokenizers_does(pair, text):
    _check(pair[0], pair[1], text)


def test_windows_match_tokenizers_truncation(pair):
    lean, reference = pair
    article = SAMPLE.read_text(encoding="utf-8")
    question = "2023财年阿里活跃的公益幸福团有多少个？"
    reference.enable_truncation(200, stride=50, strategy="only_second")
    want = reference.encode(question, article)
    windows = [want] + list(want.overflowing)
    got = lean([question], [article], truncation="only_second", max_length=200, stride=50,
               return_overflowing_tokens=True, return_offsets_mapping=True)
    assert len(got["input_ids"]) == len(windows) > 3
    for i, w in enumerate(windows):
        assert got["input_ids"][i] == w.ids
        assert got["offset_mapping"][i] == [tuple(o) for o in w.offsets]
        assert got.sequence_ids(i) == w.sequence_ids
    with pytest.raises(ValueError):
        lean([question * 20], [article], truncation="only_second", max_length=64, stride=10,
             return_overflowing_tokens=True)
    with pytest.raises(ValueError):
        lean([question], [article], truncation="only_second", max_length=64, stride=60,
             return_overflowing_tokens=True)


def test_unsupported_tokenizers_and_normalizers_are_refused(tmp_path):
    with pytest.raises(UnsupportedNormalizer):
        AlignedNormalizer({"type": "Lowercase"})
    with pytest.raises(UnsupportedNormalizer):
        AlignedNormalizer({"type": "Replace", "pattern": {"Regex": "x*"}, "content": "y"})
    (tmp_path / "tokenizer.json").write_text('{"model": {"type": "BPE"}}', encoding="utf-8")
    with pytest.raises(UnsupportedTokenizer):
        write_lean_tokenizer(tmp_path)
    with pytest.raises(UnsupportedTokenizer):
        LeanTokenizer(tmp_path)


def test_replacements_keep_offsets_into_the_original():
    norm = AlignedNormalizer({"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"Regex": "[\u3000\n]"}, "content": " "}, {"type": "NFKC"},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]})
    out = norm.normalize("ＡＢ\u3000\n①…x")
    assert out.text == "AB 1...x" == norm.normalize_text("ＡＢ\u3000\n①…x")
    # the kept space stands where the run's last character stood; NFKC's expansions where their source did
    assert list(zip(out.starts, out.ends)) == [(0, 1), (1, 2), (3, 4), (4, 5), (5, 6), (5, 6), (5, 6), (6, 7)]


def test_half_a_surrogate_pair_reads_as_a_replacement_character(pair):
    lean = pair[0]
    assert lean.tokens("文字\ud83d文字") == lean.tokens("文字\ufffd文字")


def test_a_damaged_sentencepiece_copy_is_refused_clearly_and_written_again(tmp_path):
    import os
    import subprocess
    import sys

    folder = embedded_e5_path()
    copy = tmp_path / "e5"
    copy.mkdir()
    for item in folder.iterdir():   # the big files linked, the SentencePiece copy damaged
        if not item.name.startswith("lean_tokenizer"):
            os.symlink(item, copy / item.name)
    write_lean_tokenizer(copy)
    (copy / "lean_tokenizer.model").write_bytes(b"not a model")
    with pytest.raises(UnsupportedTokenizer, match="cannot be read"):
        LeanTokenizer(copy)
    code = ("from index.e5_convert import shared_lean_tokenizer; "
            "print(shared_lean_tokenizer().tokens('钉钉', offsets=False)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, ZHQA_E5_DIR=str(copy)))
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.strip() == str(shared_lean_tokenizer().tokens("钉钉", offsets=False)[0])
    assert (copy / "lean_tokenizer.model").stat().st_size > 1_000_000, "written again"
