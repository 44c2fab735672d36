"""Questions are segmented from jieba's dictionary read word by word from disk, with the same tokens
as the whole dictionary in memory gives, and a process that indexes loads the whole one."""
import json
import os
import subprocess
import sys

from tests.conftest import SAMPLE

_RUN = """
import json, sys
from index import bm25
texts = json.loads(sys.stdin.read())
asked = [bm25.tokenize(t, question=True) for t in texts]
spans = [bm25.words(t) for t in texts]
on_disk = type(bm25._get_jieba(whole=False).dt.FREQ).__name__ == "DiskWordFrequencies"
whole = [bm25.tokenize(t) for t in texts]
in_memory = type(bm25._get_jieba().dt.FREQ) is dict
print(json.dumps({"asked": asked, "spans": spans, "whole": whole, "on_disk": on_disk, "in_memory": in_memory}))
"""


def _run(cache, texts):
    env = dict(os.environ, ZHQA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", _RUN], input=json.dumps(texts), capture_output=True, text=True,
                         env=env, timeout=300, check=True)
    return json.loads(out.stdout)


def test_questions_read_the_dictionary_from_disk_with_the_same_tokens(tmp_path):
    article = SAMPLE.read_text(encoding="utf-8")
    texts = ["2023财年阿里活跃的公益幸福团有多少个？", "臺灣大學的資訊工程學系成立於幾年？", "How many users does DingTalk have?",
             "钉钉用户超过多少", ""] + [line for line in article.splitlines() if line.strip()][:40]
    first = _run(tmp_path, texts)   # no table yet: the whole dictionary, and the table written
    assert not first["on_disk"] and first["in_memory"]
    assert list((tmp_path / "jieba").glob("freq-*.sqlite"))
    second = _run(tmp_path, texts)
    assert second["on_disk"] and second["in_memory"], "questions read the table; a document loads the whole"
    assert second["asked"] == first["asked"] == first["whole"] == second["whole"]
    assert second["spans"] == first["spans"]
    assert any(len(tokens) > 3 for tokens in second["asked"])


def test_a_damaged_table_means_loading_the_whole_dictionary(tmp_path):
    _run(tmp_path, ["钉钉"])
    for table in (tmp_path / "jieba").glob("freq-*.sqlite"):
        table.write_bytes(b"not a database")
    again = _run(tmp_path, ["钉钉用户超过多少"])
    assert not again["on_disk"] and again["asked"] == again["whole"]
    assert _run(tmp_path, ["钉钉用户超过多少"])["on_disk"], "the damaged table is written again"


def test_a_table_damaged_inside_falls_back_and_is_written_again(tmp_path):
    texts = ["蚂蚁集团的碳中和目标是什么", "2023财年阿里活跃的公益幸福团有多少个？", "钉钉用户超过多少"]
    first = _run(tmp_path, texts)
    (table,) = (tmp_path / "jieba").glob("freq-*.sqlite")
    data = bytearray(table.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 65536] = bytes(65536)   # pages gone, header and meta intact
    table.write_bytes(bytes(data))
    again = _run(tmp_path, texts * 30)
    assert again["asked"][:3] == first["asked"] and again["spans"][:3] == first["spans"]
    assert _run(tmp_path, texts)["on_disk"], "written again"


def test_a_cache_that_cannot_be_made_only_means_the_whole_dictionary(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = _run(blocker / "cache", ["钉钉用户超过多少"])
    assert not out["on_disk"] and out["asked"] == out["whole"] and out["asked"][0]
