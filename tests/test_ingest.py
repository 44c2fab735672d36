import json

from index.ingest import MAX_FILE_BYTES, decode_bytes, read_file, read_paths

TEXT = "阿里巴巴发布2023年ESG报告。公益幸福团超110个。"


def test_encodings_are_detected(tmp_path):
    for enc in ["utf-8", "utf-8-sig", "utf-16", "gb18030"]:
        p = tmp_path / f"doc-{enc}.txt"
        p.write_bytes(TEXT.encode(enc))
        res = read_file(p)
        assert not res.skipped, res.skipped
        assert res.documents[0].text == TEXT


def test_big5_is_told_from_gb18030():
    """Big5 bytes also decode as GB18030, into rare characters: the likelier of the two is kept."""
    traditional = "阿里巴巴集團發布2023年環境、社會及治理報告。截至2023年3月31日，釘釘用戶超過6億，服務企業組織超過2300萬家。"
    simplified = "阿里巴巴集团发布2023年环境、社会及治理报告。截至2023年3月31日，钉钉用户超过6亿。"
    assert decode_bytes(traditional.encode("big5")) == traditional
    assert decode_bytes(simplified.encode("gb18030")) == simplified
    # short or mostly-ASCII GBK text, where one lucky Big5 character could tip a plain count
    for gbk in ("客户名单\n王五 13800000000\n赵六 13900000000\n", "共计减碳 40万", "朱镕基 喆 13800000000 abc def"):
        assert decode_bytes(gbk.encode("gbk")) == gbk


def test_a_utf8_file_cut_inside_its_last_character_is_read_up_to_it():
    data = TEXT.encode("utf-8")
    assert decode_bytes(data[:-1]) == TEXT[:-1], "。 is three bytes: two of them are left"
    assert decode_bytes(data[:-4]) == TEXT[:-2]


def test_utf16_without_bom_is_detected():
    assert decode_bytes(TEXT.encode("utf-16-le")) == TEXT


def test_binary_and_empty_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "song.mp3").write_bytes(b"ID3")
    res = read_paths([tmp_path])
    reasons = {s.source.split("/")[-1]: s.reason for s in res.skipped}
    assert "binary" in reasons["bin.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "not a readable image" in reasons["pic.png"]
    assert "unsupported" in reasons["song.mp3"]
    assert res.documents == []


def test_missing_path_is_reported(tmp_path):
    res = read_paths([tmp_path / "nope.txt"])
    assert res.skipped and "no such file" in res.skipped[0].reason


def test_huge_file_is_refused(tmp_path):
    p = tmp_path / "big.txt"
    with open(p, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    res = read_file(p)
    assert res.skipped and "limit" in res.skipped[0].reason


def test_squad_json_paragraphs_become_documents(tmp_path):
    squad = {"data": [{"title": "标题", "paragraphs": [
        {"id": "P1", "context": "第一段。", "qas": [{"id": "q1", "question": "?", "answers": [{"text": "第一", "answer_start": 0}]}]},
        {"id": "P2", "context": "第二段。", "qas": []}]}]}
    p = tmp_path / "set.json"
    p.write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    docs = read_file(p).documents
    assert [d.id for d in docs] == ["P1", "P2"]
    assert docs[0].title == "标题"


def test_non_squad_json_is_skipped(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"a": 1}')
    assert "SQuAD" in read_file(p).skipped[0].reason
    p.write_text('{not json')
    assert read_file(p).skipped


def test_document_ids_are_stable_and_distinct(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "doc.txt").write_text("甲。")
    (b / "doc.txt").write_text("乙。")
    ids = [d.id for d in read_paths([a, b]).documents]
    assert len(set(ids)) == 2
    assert ids == [d.id for d in read_paths([a, b]).documents]


def test_folders_and_links_that_cannot_be_read_are_named_not_raised(tmp_path, monkeypatch):
    """A folder without permission (os.walk's error) and a link whose target cannot be examined are
    skipped with the reason; the readable files beside them are still read. Permission is simulated:
    these tests may run as root, whom file modes do not stop."""
    import os
    from pathlib import Path

    (tmp_path / "ok.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "secret.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "locked" / "secret.txt")
    real_scandir, real_is_file = os.scandir, Path.is_file

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def is_file(self, *args, **kwargs):
        if self.name == "link.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "is_file", is_file)
    res = read_paths([tmp_path])
    assert [d.source for d in res.documents] == [str(tmp_path / "ok.txt")]
    reasons = {s.source: s.reason for s in res.skipped}
    assert reasons == {str(tmp_path / "locked"): "cannot read: Permission denied",
                       str(tmp_path / "link.txt"): "cannot read: Permission denied"}


def test_one_path_given_as_a_string_is_one_path_not_its_characters(tmp_path):
    from index.ingest import path_list

    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    assert [d.source for d in read_paths(str(tmp_path)).documents] == [str(tmp_path / "a.txt")]
    assert path_list(tmp_path) == [tmp_path]
    for bad in (b"/tmp", 42, [tmp_path, None]):
        try:
            path_list(bad)
        except TypeError as exc:
            assert "path" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was taken for paths")


def test_an_index_inside_a_documents_folder_is_not_read_as_documents(tmp_path):
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "manifest.json").write_text('{"format_version": 1, "encoder": {"name": "e5", "dimension": 8}}',
                                       encoding="utf-8")
    (idx / "chunks.sqlite").write_bytes(b"SQLite format 3\x00")
    (tmp_path / ".git").mkdir()   # hidden folders are left out, as hidden files are
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    res = read_paths([tmp_path])
    assert [d.source for d in res.documents] == [str(tmp_path / "a.txt")]
    assert [(s.source, s.reason) for s in res.skipped] == [(str(idx), "an index, not documents")]


def test_a_link_to_a_folder_is_named_not_followed(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path / "docs")
    res = read_paths([tmp_path / "docs"])
    assert [d.source for d in res.documents] == [str(tmp_path / "docs" / "a.txt")]
    assert [(s.source, s.reason) for s in res.skipped] == [
        (str(tmp_path / "docs" / "loop"), "a link to a folder, not followed (give its target)")]


def test_an_empty_folder_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    res = read_paths([tmp_path / "empty"])
    assert not res.documents and [(s.source, s.reason) for s in res.skipped] == [
        (str(tmp_path / "empty"), "the folder holds no files")]


def test_fifos_and_dangling_links_in_a_folder_are_named_not_dropped(tmp_path):
    import os
    from pathlib import Path

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.txt").write_text("星河公司的创始人是李明远。\n", encoding="utf-8")
    os.mkfifo(docs / "pipe.txt")
    (docs / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    result = read_paths([docs])
    assert [d.source for d in result.documents] == [str(docs / "ok.txt")]
    reasons = {Path(s.source).name: s.reason for s in result.skipped}
    assert reasons == {"pipe.txt": "not a regular file (a FIFO, socket or device)",
                       "gone.txt": "a link to nothing (its target is gone)"}


def test_copies_of_one_file_in_two_folders_are_noted_once_a_pair(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.txt").write_text("星河公司成立于2001年。", encoding="utf-8")
    (tmp_path / "x" / "b.txt").write_text("星河公司成立于2001年。", encoding="utf-8")   # another name: its own id
    squad = {"data": [{"title": "湖", "paragraphs": [{"context": f"第{i}段。", "qas": []} for i in range(3)]}]}
    (tmp_path / "x" / "p.json").write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    squad["data"][0]["paragraphs"][1]["context"] = "另一段。"   # ids 湖#0..#2 again, one text differs
    (tmp_path / "y" / "q.json").write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    res = read_paths([tmp_path])
    assert len(res.documents) == 3 + 6   # all read: the store keeps an id's last version
    notes = {n.source: n.reason for n in res.notes}
    assert set(notes) == {str(tmp_path / "x" / "a.txt"), str(tmp_path / "x" / "p.json")}
    assert notes[str(tmp_path / "x" / "a.txt")] == f"the same text as {tmp_path / 'y' / 'a.txt'}: indexed once, from that file"
    assert notes[str(tmp_path / "x" / "p.json")].startswith(
        f"3 of its documents have the ids of {tmp_path / 'y' / 'q.json'}'s, 1 with other text: only")
