"""The CLI on tiny models: indexing, asking, and clear errors for bad input."""
import json
import os

import pytest

from qa.cli import main


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("星河公司的创始人是李明远。公司成立于2001年。", encoding="utf-8")
    (d / "b.md").write_text("# 钉钉\n截至2023年3月31日，钉钉用户超6亿。", encoding="utf-8")
    (d / "junk.txt").write_bytes(bytes(range(256)) * 8)
    return d


def _models(tiny_encoder_path, tiny_qa_model):
    return ["--encoder", str(tiny_encoder_path), "--reader", str(tiny_qa_model)]


def test_index_then_ask_json(corpus, tmp_path, tiny_encoder_path, tiny_qa_model, capsys):
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    out = capsys.readouterr()
    assert "added 2" in out.out and "junk.txt" in out.err and "binary" in out.err
    # the index's own encoder is used when none is given
    rc = main(["ask", "星河公司的创始人是谁？", "--index", str(idx), "--json", "--threshold", "0",
               "--reader", str(tiny_qa_model)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question"] == "星河公司的创始人是谁？"
    assert data["abstained"] is False and data["text"]
    doc_text = (corpus / ("a.txt" if "星河" in data["passage"] else "b.md")).read_text(encoding="utf-8")
    assert doc_text[data["start"]:data["end"]] == data["text"]
    assert len(data["passages"]) >= 1


def test_index_list_and_remove(corpus, tmp_path, tiny_encoder_path, capsys):
    idx = tmp_path / "idx"
    main(["index", str(corpus), "--index", str(idx), "--encoder", str(tiny_encoder_path)])
    capsys.readouterr()
    assert main(["index", "--index", str(idx), "--list"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "\t" in ln]
    assert len(lines) == 2
    doc_id = lines[0].split("\t")[0]
    assert main(["index", "--index", str(idx), "--remove", doc_id]) == 0
    assert "1 document(s)" in capsys.readouterr().out
    # an id the index does not hold: said, and exit 1 (as rm of a missing file); the others still go
    other = lines[1].split("\t")[0]
    assert main(["index", "--index", str(idx), "--remove", doc_id, "--remove", other]) == 1
    out = capsys.readouterr()
    assert "removed 1 document(s)" in out.out and "0 document(s)" in out.out
    assert out.err.strip() == f"error: not in the index: {doc_id}"


def test_prune_drops_what_a_folder_no_longer_holds_and_only_when_asked(corpus, tmp_path, tiny_encoder_path,
                                                                         capsys):
    idx = tmp_path / "idx"
    enc = ["--encoder", str(tiny_encoder_path)]
    assert main(["index", str(corpus), "--index", str(idx)] + enc) == 0
    (corpus / "b.md").unlink()
    assert main(["index", str(corpus), "--index", str(idx)] + enc) == 0   # kept: the index may be its only copy
    out = capsys.readouterr().out
    assert "2 document(s)" in out and "unchanged 1 document(s)" in out
    assert "kept 1 document(s) whose file is gone from the folder (--prune removes them)" in out   # counts add up
    assert main(["index", str(corpus), "--index", str(idx), "--prune"] + enc) == 0
    out = capsys.readouterr().out
    assert "pruned 1 document(s)" in out and "1 document(s)" in out
    assert main(["index", "--index", str(idx), "--list"]) == 0
    listed = capsys.readouterr().out
    assert "a.txt" in listed and "b.md" not in listed
    # a folder that gives no document now (a drive not mounted, say) prunes nothing
    for f in corpus.iterdir():
        f.unlink()
    assert main(["index", str(corpus), "--index", str(idx), "--prune"] + enc) == 2
    assert "nothing to index" in capsys.readouterr().err
    assert main(["index", "--index", str(idx), "--list"]) == 0 and "a.txt" in capsys.readouterr().out
    # --prune names a folder
    assert main(["index", "--index", str(idx), "--prune"]) == 2
    assert "give that folder" in capsys.readouterr().err


def test_prune_never_takes_a_relative_or_unreadable_or_non_path_source_for_gone(tmp_path, tiny_encoder_path,
                                                                                  capsys, monkeypatch):
    from index.documents import Document
    from index.embed import get_encoder
    from index.store import IndexStore

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    for root in (home, elsewhere):
        (root / "docs").mkdir(parents=True)
        (root / "docs" / "x.txt").write_text(f"{root.name}的星河公司成立于2016年。", encoding="utf-8")
    # an index whose sources were recorded relative (as before sources were absolute), or are no paths at all
    encoder = get_encoder(str(tiny_encoder_path))
    store = IndexStore(str(tiny_encoder_path), encoder.info.dimension)
    store.add_documents([Document("rel-1", "rel", "星河公司的创始人是李明远。", "docs/a.txt"),
                         Document("url-1", "url", "钉钉用户超6亿。", "https://example.com/page"),
                         Document("mem-1", "mem", "菜鸟成立于2013年。", "mem")], encoder)
    idx = tmp_path / "idx"
    store.save(idx)
    monkeypatch.chdir(elsewhere)
    assert main(["index", "docs", "--index", str(idx), "--prune", "--encoder", str(tiny_encoder_path)]) == 0
    assert "pruned 0 document(s)" in capsys.readouterr().out
    assert main(["index", ".", "--index", str(idx), "--prune", "--encoder", str(tiny_encoder_path)]) == 0
    assert "pruned 0 document(s)" in capsys.readouterr().out
    assert main(["index", "--index", str(idx), "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(i in listed for i in ("rel-1", "url-1", "mem-1"))
    # sources are recorded absolute now, so another spelling of the folder finds them
    assert str(elsewhere / "docs" / "x.txt") in listed
    (elsewhere / "docs" / "y.txt").write_text("另一篇。", encoding="utf-8")
    assert main(["index", "docs", "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    (elsewhere / "docs" / "x.txt").unlink()
    assert main(["index", f"{elsewhere}/docs//", "--index", str(idx), "--prune",
                 "--encoder", str(tiny_encoder_path)]) == 0
    assert "pruned 1 document(s)" in capsys.readouterr().out
    assert main(["index", "/no/such/folder", "--index", str(idx), "--prune"]) == 2
    assert "not a folder here" in capsys.readouterr().err


def test_prune_keeps_a_file_it_cannot_look_at(tmp_path, monkeypatch):
    import index.store.versions as versions
    from index.store.prepare import DocumentInfo

    folder = tmp_path / "docs"
    unreadable = folder / "sub" / "c.txt"   # under a folder without permission (root would look through it)
    infos = [DocumentInfo("c", "c", str(unreadable), 1, "0"), DocumentInfo("d", "d", str(folder / "gone.txt"), 1, "0"),
             DocumentInfo("e", "e", str(folder / ("长" * 300 + ".txt")), 1, "0")]
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if os.fspath(path) == str(unreadable):
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(versions.os, "lstat", lstat)
    folder.mkdir()
    assert [i.id for i in versions.vanished(infos, [folder])] == ["d"]   # the over-long name cannot be looked at


def test_many_unsupported_files_in_a_folder_are_one_line_of_counts(tmp_path, tiny_encoder_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "readme.md").write_text("# 说明\n星河公司的总部设在青岛。", encoding="utf-8")
    for i in range(30):
        (src / f"m{i}.py").write_text("x = 1\n", encoding="utf-8")
    for i in range(5):
        (src / f"m{i}.pyc").write_bytes(b"\0" * 8)
    (src / "bad.txt").write_bytes(bytes(range(256)) * 8)
    assert main(["index", str(src), "--index", str(tmp_path / "idx"), "--encoder", str(tiny_encoder_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "skipped 35 files of unsupported types in the folders (.py 30, .pyc 5)" in err
    assert any("bad.txt" in line and "binary" in line for line in err)   # other reasons still one a file
    assert not any("m1.py" in line for line in err)
    # a file named on the command line is always named, with its own reason
    named = tmp_path / "tool.py"
    named.write_text("x = 1\n", encoding="utf-8")
    assert main(["index", str(src), str(named), "--index", str(tmp_path / "idx")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"skipped {named}: unsupported file type '.py' (use ") for line in err)
    assert "skipped 35 files of unsupported types in the folders (.py 30, .pyc 5)" in err


def test_user_errors_exit_2_with_a_message(corpus, tmp_path, tiny_encoder_path, tiny_qa_model, capsys):
    assert main(["ask", "   "]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["ask", "问" * 5000]) == 2
    assert "limit" in capsys.readouterr().err
    assert main(["ask", "问题", "--index", str(tmp_path / "none")] + _models(tiny_encoder_path, tiny_qa_model)) == 2
    assert "no index" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "nope.txt"), "--index", str(tmp_path / "i2"),
                 "--encoder", str(tiny_encoder_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    idx = tmp_path / "idx"
    main(["index", str(corpus), "--index", str(idx), "--encoder", str(tiny_encoder_path)])
    capsys.readouterr()
    next(idx.glob("seg-*.sqlite")).write_bytes(b"garbage")
    assert main(["ask", "问题", "--index", str(idx)] + _models(tiny_encoder_path, tiny_qa_model)) == 2
    assert "corrupt" in capsys.readouterr().err
    # an index built with one encoder is refused under another
    idx2 = tmp_path / "idx2"
    main(["index", str(corpus), "--index", str(idx2), "--encoder", str(tiny_encoder_path)])
    capsys.readouterr()
    assert main(["ask", "问题", "--index", str(idx2), "--encoder", "embedded-e5-small",
                 "--reader", str(tiny_qa_model)]) == 2
    assert "encoder" in capsys.readouterr().err


def test_rank_decay_favours_the_passages_retrieval_ranked_first(corpus, tiny_encoder_path, tiny_qa_model, capsys):
    from qa import Config, QABot

    def bot(decay: float) -> QABot:
        return QABot.from_corpus([corpus], Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model),
                                                  rank_decay=decay))

    def source(answer) -> int:
        return [p.chunk_id for p in answer.passages].index(answer.chunk_id)

    # 0.01: far above any span score of the tiny reader's, so the second passage is read too (no early
    # stop), and far enough below 1 that the first passage's spans still rank first
    by_confidence, by_rank = bot(1.0), bot(0.01)
    questions = ["星河公司的创始人是谁？", "钉钉用户有多少？", "公司成立于哪一年？", "谁创立了星河公司？", "用户超过多少？",
                 "截至什么时候？", "创始人叫什么名字？", "钉钉是什么？"]
    second = []   # questions whose most confident span lies in the second passage
    for q in questions:
        answer = by_confidence.ask(q, top_k=2, threshold=0.0)
        assert len(answer.passages) == 2
        assert answer.score == max([answer.score] + [c.score for c in answer.alternatives])
        if source(answer) == 1:
            second.append(q)
    assert second, "the tiny reader's best span comes from the second passage for some question"
    passes = []
    read = by_rank.reader.forward_windows
    by_rank.reader.forward_windows = lambda q, ps, *a, **kw: passes.append(len(ps)) or read(q, ps, *a, **kw)
    for q in second:
        passes.clear()
        answer = by_rank.ask(q, top_k=2, threshold=0.0)
        assert passes == [1, 1], "both passages read, one after the other"
        assert source(answer) == 0, "the first passage's best span, whatever the second's score"
    assert main(["ask", questions[0], "--rank-decay", "0"]) == 2
    assert "rank decay" in capsys.readouterr().err


@pytest.mark.parametrize("name, raw, message", [("ZHQA_RANK_DECAY", "abc", "ZHQA_RANK_DECAY must be a number"),
                                                ("ZHQA_RANK_DECAY", "nan", "must be a number above 0"),
                                                ("ZHQA_TOP_K", "3.5", "ZHQA_TOP_K must be a whole number"),
                                                ("ZHQA_TOP_K", "-1", "must be a whole number of at least 1"),
                                                ("ZHQA_THRESHOLD", "nan", "must be a number from 0 to 1"),
                                                ("ZHQA_THRESHOLD", "5", "must be a number from 0 to 1"),
                                                ("ZHQA_MAX_QUESTION_CHARS", "-1", "must be a whole number of at least 1"),
                                                ("ZHQA_DENSE_WEIGHT", "-3", "must be a number from 0 to 1"),
                                                ("ZHQA_DENSE_WEIGHT", "nan", "must be a number from 0 to 1"),
                                                ("ZHQA_READER_DEVICE", "meta", "must be cpu, cuda, cuda:N or auto"),
                                                ("ZHQA_BM25_CACHE_FROM", "1e5", "ZHQA_BM25_CACHE_FROM must be a whole"),
                                                ("ZHQA_AUTO_HNSW_FROM", "-1", "ZHQA_AUTO_HNSW_FROM must be a whole")])
def test_bad_settings_in_the_environment_are_one_line_errors(monkeypatch, capsys, name, raw, message):
    monkeypatch.setenv(name, raw)
    assert main(["ask", "钉钉用户有多少？"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_stores_whole_number_settings_fall_back_at_import_and_are_named_when_bad(monkeypatch):
    from index.env_numbers import env_number, env_number_problem

    monkeypatch.setenv("ZHQA_BM25_CACHE_FROM", "1e5")
    assert env_number("ZHQA_BM25_CACHE_FROM") == 20_000, "a bad value never crashes the import"
    assert "ZHQA_BM25_CACHE_FROM must be a whole number" in env_number_problem()
    monkeypatch.setenv("ZHQA_BM25_CACHE_FROM", "")
    assert env_number("ZHQA_BM25_CACHE_FROM") == 20_000 and env_number_problem() is None, "empty is unset"
    monkeypatch.setenv("ZHQA_BM25_CACHE_FROM", " 7 ")
    assert env_number("ZHQA_BM25_CACHE_FROM") == 7


def test_every_switch_of_the_config_has_its_option():
    from qa.config import SWITCHES, Config
    from qa.options import SWITCH_HELP

    assert tuple(SWITCH_HELP) == SWITCHES and all(hasattr(Config(), name) for name in SWITCHES)


@pytest.mark.parametrize("field, value", [("dense_weight", float("nan")), ("dense_weight", 5), ("dense_weight", "x"),
                                          ("mode", "x"), ("fusion", "x"), ("faiss", "x"), ("reader_dtype", "float8"),
                                          ("encoder", ""), ("encoder", None), ("reader", " "), ("reader_device", "meta"),
                                          ("answer_types", "no"), ("verifier", "no"), ("chunk_size", "abc"),
                                          ("read_titles", "yes"), ("table_cells", 1)])
def test_every_config_field_is_checked_when_the_config_is_made(field, value):
    from qa.config import Config

    with pytest.raises(ValueError, match=f"(?i){field.split('_')[0]}"):
        Config(**{field: value})


@pytest.mark.parametrize("argv", [["ask", "钉钉用户有多少？", "--index", ""], ["ask", "钉钉用户有多少？", "--encoder", " "],
                                  ["ask", "钉钉用户有多少？", "--reader", ""], ["index", "x.txt", "--index", ""],
                                  ["eval", "x.jsonl", "--index", ""]])
def test_an_empty_path_or_model_option_is_refused_not_taken_for_the_default(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is empty" in err and len(err.strip().splitlines()) == 1


def test_an_empty_index_or_corpus_through_the_api_is_an_error_not_the_sample_article():
    from index.store import StoreError
    from qa.bot import ask

    with pytest.raises(StoreError, match="index path is empty"):
        ask("钉钉用户有多少？", index="")
    with pytest.raises(StoreError, match="corpus is empty"):
        ask("钉钉用户有多少？", corpus=[])


@pytest.mark.parametrize("calibration, message", [('{"threshold": NaN}', "must be a number from 0 to 1"),
                                                  ('{"threshold": -5}', "must be a number from 0 to 1"),
                                                  ('{"threshold": "abc"}', "must be a number from 0 to 1"),
                                                  ('{"threshold": 0.2, "threshold_english": 7}', "threshold_english"),
                                                  ('{"threshold": null}', "not None"),
                                                  ("[1, 2]", "must hold a JSON object"), ("{oops", "not valid JSON")])
def test_a_damaged_calibration_file_is_refused_naming_it(tmp_path, tiny_qa_model, calibration, message):
    import shutil

    from qa.bot import reader_thresholds
    from qa.config import Config
    from qa.reader.loading import ReaderLoadError

    reader = tmp_path / "reader"
    shutil.copytree(tiny_qa_model, reader)
    (reader / "calibration.json").write_text(calibration)
    with pytest.raises(ReaderLoadError, match=message):
        reader_thresholds(Config(reader=str(reader)))
    (reader / "calibration.json").write_text('{"threshold": 0.2, "threshold_english": 0.01}')
    assert reader_thresholds(Config(reader=str(reader))).english == 0.01


def test_a_question_from_standard_input_or_in_another_encoding(corpus, tmp_path, tiny_encoder_path, tiny_qa_model,
                                                             monkeypatch, capsys):
    import io

    models = ["--encoder", str(tiny_encoder_path), "--reader", str(tiny_qa_model), "--corpus", str(corpus)]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("星河公司的创始人是谁？\n".encode())))
    assert main(["ask", "-", "--json", *models]) == 0
    assert json.loads(capsys.readouterr().out)["question"] == "星河公司的创始人是谁？"
    gbk = "钉钉用户有多少？".encode("gbk")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(gbk)))
    assert main(["ask", "-", *models]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    as_argument = gbk.decode("utf-8", errors="surrogateescape")   # what Python makes of such an argument
    assert main(["ask", as_argument, *models]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and len(err.strip().splitlines()) == 1


def test_demo_refuses_a_bad_option_before_loading_anything(capsys, monkeypatch):
    import qa.bot

    monkeypatch.setattr(qa.bot, "get_bot", lambda *a, **k: pytest.fail("models loaded for a refused option"))
    assert main(["demo", "--top-k", "0"]) == 2
    out = capsys.readouterr()
    assert "must be a whole number of at least 1" in out.err and "Bundled article" not in out.out


def test_missing_reader_is_a_clear_error(tmp_path, corpus, tiny_encoder_path, capsys):
    idx = tmp_path / "idx"
    main(["index", str(corpus), "--index", str(idx), "--encoder", str(tiny_encoder_path)])
    capsys.readouterr()
    assert main(["ask", "问题", "--index", str(idx), "--encoder", str(tiny_encoder_path),
                 "--reader", str(tmp_path / "no-reader")]) == 2
    assert f"no reader at {tmp_path / 'no-reader'}: no such folder" in capsys.readouterr().err
    empty = tmp_path / "empty-reader"   # a folder, but no model in it
    empty.mkdir()
    assert main(["ask", "问题", "--index", str(idx), "--encoder", str(tiny_encoder_path), "--reader", str(empty)]) == 2
    assert "cannot load question-answering model" in capsys.readouterr().err


def test_a_model_of_the_wrong_kind_is_refused_not_made_up(tmp_path, corpus, tiny_encoder_path, tiny_qa_model,
                                                           capsys):
    """A sentence encoder given as --reader has no span head, and a zhqa reader folder given as --encoder
    no word table: transformers made the missing weights up at random (its warning hidden), so answers
    were noise and every passage scored alike. Each is now refused by name."""
    import shutil

    from qa.reader.loading import load_reader_model, save_reader

    assert main(["ask", "星河公司的创始人是谁？", "--corpus", str(corpus), "--encoder", str(tiny_encoder_path),
                 "--reader", str(tiny_encoder_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {tiny_encoder_path} is not a question-answering model (no span head weights)"

    reader = save_reader(load_reader_model(str(tiny_qa_model))[0], tmp_path / "compact", {"note": "test"})
    for name in ("tokenizer.json", "tokenizer_config.json"):   # loadable as a sentence encoder but for its table
        shutil.copy(tiny_qa_model / name, reader / name)
    assert main(["ask", "星河公司的创始人是谁？", "--corpus", str(corpus), "--encoder", str(reader),
                 "--reader", str(tiny_qa_model)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"error: {reader} holds no word-embedding table (embeddings.word_embeddings.weight), so "
                           "every text would embed alike: not a sentence encoder; it is a zhqa reader folder, give "
                           "it as --reader")
    assert main(["ask", "星河公司的创始人是谁？", "--corpus", str(corpus), "--threshold", "0",
                 *_models(tiny_encoder_path, tiny_qa_model)]) == 0   # the right kinds still load


def test_abstention_names_the_measure_only_when_spans_were_set_aside(corpus, tmp_path, tiny_encoder_path,
                                                                     tiny_qa_model, capsys):
    idx = tmp_path / "idx"
    main(["index", str(corpus), "--index", str(idx), "--encoder", str(tiny_encoder_path)])
    capsys.readouterr()
    base = ["--index", str(idx), "--threshold", "1"] + _models(tiny_encoder_path, tiny_qa_model)
    for q in ("星河公司的营业收入是多少？", "钉钉用户有多少人？", "星河公司的创始人是谁？"):
        assert main(["ask", q, "--json"] + base) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["abstained"]
        assert main(["ask", q] + base) == 0
        out = capsys.readouterr().out
        assert ("已排除" in out) == (data["dropped_by_type"] > 0), (q, data["dropped_by_type"], out)
        if data["dropped_by_type"]:
            assert "问题问的是" in out
    assert main(["ask", "星河公司的营业收入是多少？", "--json", "--no-answer-types"] + base) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["asked_measure"] is None and data["dropped_by_type"] == 0


def test_milvus_backend_index_list_remove_and_ask(corpus, tmp_path, tiny_encoder_path, tiny_qa_model, capsys):
    pytest.importorskip("pymilvus")
    from qa import bot as bot_module

    db = str(tmp_path / "x.db")
    milvus = ["--backend", "milvus", "--milvus-uri", db]
    assert main(["index", str(corpus), "--encoder", str(tiny_encoder_path)] + milvus) == 0
    out = capsys.readouterr()
    assert "added 2" in out.out and "(Milvus, collection zhqa)" in out.out and "junk.txt" in out.err
    assert main(["index", "--list"] + milvus) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "\t" in ln]
    assert len(lines) == 2
    removed = next(ln.split("\t")[0] for ln in lines if "b.md" in ln)
    assert main(["index", "--remove", removed] + milvus) == 0
    assert "removed 1" in capsys.readouterr().out
    try:   # the index's own encoder is used when none is given
        assert main(["ask", "星河公司的创始人是谁？", "--json", "--threshold", "0", "--reader", str(tiny_qa_model)]
                    + milvus) == 0
        data = json.loads(capsys.readouterr().out)
        assert not data["abstained"] and data["doc_id"] != removed
        assert (corpus / "a.txt").read_text(encoding="utf-8")[data["start"]:data["end"]] == data["text"]
    finally:
        for key in [k for k in bot_module._BOTS if k[2].backend == "milvus"]:
            bot_module._BOTS.pop(key).store.close()


def test_backend_options_that_do_not_fit_exit_2(tmp_path, capsys):
    assert main(["ask", "问题", "--backend", "milvus"]) == 2
    assert "needs --milvus-uri" in capsys.readouterr().err
    assert main(["ask", "问题", "--backend", "milvus", "--milvus-uri", str(tmp_path / "x.db"),
                 "--index", str(tmp_path)]) == 2
    assert "--index names a local index" in capsys.readouterr().err
    assert main(["ask", "问题", "--milvus-uri", str(tmp_path / "x.db")]) == 2
    assert "--backend milvus" in capsys.readouterr().err
    assert main(["index", str(tmp_path)]) == 2
    assert "--index DIR" in capsys.readouterr().err
    assert main(["ask", "问题", "--backend", "milvus", "--milvus-uri", str(tmp_path / "none.db")]) == 2
    assert "no zhqa index" in capsys.readouterr().err


def test_index_never_replaces_what_is_not_an_index(corpus, tmp_path, tiny_encoder_path, capsys):
    """A folder of documents, a file, or an index that lost its manifest given as --index is refused and
    left as it was (a save replaces its target whole); an empty folder becomes the index."""
    docs_before = sorted(p.name for p in corpus.iterdir())
    a_file = tmp_path / "notes.txt"
    a_file.write_text("我的笔记", encoding="utf-8")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "seg-000001-abcdef12.sqlite").write_bytes(b"x" * 64)
    for target, said in ((corpus, "not an index"), (a_file, "not an index directory"), (damaged, "manifest.json is missing")):
        rc = main(["index", str(corpus / "a.txt"), "--index", str(target), "--encoder", str(tiny_encoder_path)])
        err = capsys.readouterr().err
        assert rc == 2 and said in err and err.count("\n") == 1, err
    assert sorted(p.name for p in corpus.iterdir()) == docs_before
    assert a_file.read_text(encoding="utf-8") == "我的笔记"
    assert [p.name for p in damaged.iterdir()] == ["seg-000001-abcdef12.sqlite"]
    assert not [p for p in tmp_path.iterdir() if ".trash-" in p.name or ".old-" in p.name]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0")   # what a file browser leaves in any folder
    assert main(["index", str(corpus / "a.txt"), "--index", str(empty), "--encoder", str(tiny_encoder_path)]) == 0
    assert (empty / "manifest.json").exists()


def test_a_store_saved_onto_a_folder_of_documents_refuses(corpus, tmp_path):
    """The library's own save refuses too, for callers that bypass the command line."""
    from index.store import IndexStore, StoreError

    store = IndexStore("tiny", 8)
    with pytest.raises(StoreError, match="not an index"):
        store.save(corpus)
    assert (corpus / "a.txt").exists()


def test_files_the_filesystem_refuses_are_one_line_errors(corpus, tmp_path, tiny_encoder_path, capsys, monkeypatch):
    """An index path under a file is refused by name; an OSError the filesystem raises (here a lock file
    without permission, simulated: the tests may run as root) ends in one line, not a traceback."""
    import index.store.locking

    a_file = tmp_path / "plain.txt"
    a_file.write_text("x", encoding="utf-8")
    rc = main(["index", str(corpus / "a.txt"), "--index", str(a_file / "idx"), "--encoder", str(tiny_encoder_path)])
    err = capsys.readouterr().err
    assert rc == 2 and f"{a_file} is a file, so no index can be made" in err and "Traceback" not in err

    def no_permission(target, **_):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".idx.lock"))

    monkeypatch.setattr(index.store.locking, "index_write_lock", no_permission)
    rc = main(["index", str(corpus / "a.txt"), "--index", str(tmp_path / "idx"), "--encoder", str(tiny_encoder_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"error: {tmp_path / '.idx.lock'}: Permission denied"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc, where no file can be created")
def test_a_lock_file_that_cannot_be_created_is_named_not_waited_for(corpus, tmp_path, tiny_encoder_path, capsys):
    """/proc exists but refuses new files (ENOENT): filelock took that for another writer, so a wait never
    ended and --no-wait blamed another process. Now the lock file's error, at once, waiting or not."""
    from index.store.locking import index_write_lock

    for wait in (True, False):   # a timeout, so that the old behaviour fails here instead of hanging
        with pytest.raises(FileNotFoundError) as caught:
            with index_write_lock("/proc/zhqa-no-such-index", wait=wait, timeout=5):
                pass
        assert caught.value.filename == "/proc/.zhqa-no-such-index.lock"
    rc = main(["index", str(corpus / "a.txt"), "--index", "/proc/zhqa-no-such-index", "--no-wait",
               "--encoder", str(tiny_encoder_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "another process" not in err
    assert err.strip().splitlines()[-1] == "error: /proc/.zhqa-no-such-index.lock: No such file or directory"


def test_a_lock_held_elsewhere_is_still_busy(tmp_path):
    """The check above leaves a lock really held (its file there) to --no-wait's refusal."""
    from filelock import FileLock

    from index.store.locking import IndexBusy, index_write_lock, lock_path

    with FileLock(str(lock_path(tmp_path / "idx"))):
        with pytest.raises(IndexBusy, match="being written by another process"):
            with index_write_lock(tmp_path / "idx", wait=False):
                pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.lock"]
    from index.store.locking import _check_lock_file

    free = tmp_path / "free"
    free.mkdir()
    _check_lock_file(free / ".idx.lock")   # not there, and creatable: no error, and its probe file removed
    assert list(free.iterdir()) == []


def test_output_cut_short_by_its_reader_stops_quietly(tmp_path, tiny_encoder_path, tiny_qa_model):
    """`qa ask ... --json | head -c 10`: the reader closes the pipe early. That printed 'error: Broken pipe'
    (exit 2), or Python's 'Exception ignored ... BrokenPipeError' at exit; now nothing, exit 141 (SIGPIPE's)."""
    import subprocess
    import sys
    from pathlib import Path

    doc = tmp_path / "a.txt"
    doc.write_text("星河公司的创始人是李明远。" * 40, encoding="utf-8")
    for extra in ([], ["--json"]):   # a few lines (failing at the flush at exit), or a long JSON (while printing)
        err_file = tmp_path / "err.txt"
        with err_file.open("w") as err:
            p = subprocess.Popen([sys.executable, "-m", "qa", "ask", "星河公司的创始人是谁？", "--corpus", str(doc),
                                  "--threshold", "0", *_models(tiny_encoder_path, tiny_qa_model), *extra],
                                 cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=err,
                                 env={**os.environ, "HF_HUB_OFFLINE": "1"})
            p.stdout.close()   # the reader is gone before anything is written
            rc = p.wait(timeout=300)
        assert err_file.read_text() == "" and rc == 141


def test_eval_writes_its_files_when_its_output_is_cut_short(tmp_path, tiny_encoder_path, tiny_qa_model):
    import subprocess
    import sys
    from pathlib import Path

    doc, questions, predictions = tmp_path / "a.txt", tmp_path / "q.jsonl", tmp_path / "p.json"
    doc.write_text("星河公司的创始人是李明远。", encoding="utf-8")
    questions.write_text(json.dumps({"id": "q1", "question": "星河公司的创始人是谁？", "answers": ["李明远"]},
                                    ensure_ascii=False) + "\n", encoding="utf-8")
    p = subprocess.Popen([sys.executable, "-m", "qa", "eval", str(questions), "--corpus", str(doc), "--no-progress",
                          "--predictions", str(predictions), *_models(tiny_encoder_path, tiny_qa_model)],
                         cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    p.stdout.close()   # `qa eval ... | head -0`
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 141 and "Traceback" not in err and "Broken pipe" not in err
    assert list(json.loads(predictions.read_text(encoding="utf-8"))) == ["q1"]


def test_a_broken_pipe_that_is_not_standard_output_is_an_error(monkeypatch, capsys):
    import qa.cli

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")   # a socket or subprocess, while stdout is fine
    monkeypatch.setattr(qa.cli, "_cmd_demo", broken)
    assert main(["demo"]) == 2
    assert "Broken pipe" in capsys.readouterr().err


def test_a_bad_store_setting_does_not_break_importing_the_store(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "ZHQA_BM25_CACHE_FROM": "1e5", "ZHQA_AUTO_HNSW_FROM": "abc"}
    done = subprocess.run([sys.executable, "-c", "import index.store.local as s; print(s.BM25_CACHE_FROM)"],
                          cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "20000", done.stderr


def test_the_configs_lists_of_names_match_the_modules_that_use_them():
    import index.hardware
    import index.store.local
    import qa.config

    assert set(qa.config.FAISS_KINDS) == set(index.store.local.FAISS_KINDS)
    assert qa.config.READER_DTYPES == index.hardware.DTYPES


def test_a_cache_folder_that_cannot_be_made_names_zhqa_cache_dir(corpus, tmp_path, tiny_encoder_path, tiny_qa_model,
                                                                  capsys, monkeypatch):
    """The cache folder comes from ZHQA_CACHE_DIR, often set long before: an error on it (or inside it) names
    the setting, not only a path the user may not recognise. Other paths are named as they were."""
    from qa.messages import os_error_line

    a_file = tmp_path / "plain.txt"
    a_file.write_text("x", encoding="utf-8")
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(a_file / "cache"))   # root-proof: no folder under a file
    rc = main(["ask", "星河公司的创始人是谁？", "--corpus", str(corpus), *_models(tiny_encoder_path, tiny_qa_model)])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().splitlines()[-1] == (f"error: the cache folder {a_file / 'cache'} (ZHQA_CACHE_DIR): "
                                                         "Not a directory")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "indexes").write_text("x", encoding="utf-8")   # where the corpus's index is kept
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(cache))
    rc = main(["ask", "星河公司的创始人是谁？", "--corpus", str(corpus), *_models(tiny_encoder_path, tiny_qa_model)])
    err = capsys.readouterr().err
    assert rc == 2 and f"{cache / 'indexes'}, in the cache folder (ZHQA_CACHE_DIR): " in err.strip().splitlines()[-1]
    elsewhere = FileNotFoundError(2, "No such file or directory", str(tmp_path / "cachet"))   # a name that only starts alike
    assert os_error_line(elsewhere) == f"{tmp_path / 'cachet'}: No such file or directory"
    monkeypatch.delenv("ZHQA_CACHE_DIR")
    assert os_error_line(FileNotFoundError(2, "No such file or directory", str(cache))) == \
        f"{cache}: No such file or directory"


def test_ask_over_a_corpus_names_the_files_it_skipped(corpus, tmp_path, tiny_encoder_path, tiny_qa_model, capsys,
                                                      monkeypatch):
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    missing = tmp_path / "typo.txt"
    import qa.bot

    for _ in range(2):   # built, then opened from the cache (by a new process's empty bot table): named both times
        monkeypatch.setattr(qa.bot, "_BOTS", {})
        rc = main(["ask", "星河公司的创始人是谁？", "--corpus", str(corpus), str(missing), *_models(tiny_encoder_path, tiny_qa_model)])
        err = capsys.readouterr().err
        assert rc == 0
        assert f"skipped {missing}: no such file or directory" in err
        assert f"skipped {corpus / 'junk.txt'}: binary" in err
        assert len(list((tmp_path / "cache" / "indexes").glob("*.skipped.json"))) == 1
    rc = main(["ask", "星河公司的创始人是谁？", "--corpus", str(missing), str(corpus / "junk.txt"),
               *_models(tiny_encoder_path, tiny_qa_model)])
    err = capsys.readouterr().err
    assert rc == 2 and "none of the given files could be indexed" in err and "typo.txt: no such file" in err


def test_the_python_api_takes_one_corpus_path_as_a_string(corpus, tmp_path, tiny_encoder_path, tiny_qa_model,
                                                         monkeypatch):
    """`QABot.from_corpus("docs")` and `ask(q, corpus="docs")` read that folder, not each character of
    its name (which made "/" a path and walked the whole file system)."""
    from qa.bot import QABot, ask
    from qa.config import Config

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model))
    bot = QABot.from_corpus(str(corpus), config)
    assert sorted(i.source for i in bot.document_infos()) == [str(corpus / "a.txt"), str(corpus / "b.md")]
    assert [s.source for s in bot.skipped] == [str(corpus / "junk.txt")]
    assert ask("星河公司的创始人是谁？", corpus=str(corpus / "a.txt"), config=config).question == "星河公司的创始人是谁？"


@pytest.mark.parametrize("option", [["--threshold", "nan"], ["--threshold", "-1"], ["--threshold", "5"]])
def test_a_threshold_outside_0_to_1_is_refused(option, capsys):
    assert main(["ask", "钉钉用户有多少？", *option]) == 2
    err = capsys.readouterr().err
    assert "must be a number from 0 to 1" in err and len(err.strip().splitlines()) == 1


def test_the_python_api_checks_top_k_and_threshold(corpus, tmp_path, tiny_encoder_path, tiny_qa_model, monkeypatch):
    """top_k=0 was taken for the default; "3" and 2.5 raised TypeErrors deep inside; NaN never abstained."""
    from qa.bot import QABot, QuestionError
    from qa.config import Config

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    bot = QABot.from_corpus([corpus], Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model)))
    for bad in ({"top_k": 0}, {"top_k": "3"}, {"top_k": 2.5}, {"threshold": float("nan")}, {"threshold": 2}):
        with pytest.raises(QuestionError, match="must be"):
            bot.ask("星河公司的创始人是谁？", **bad)
    assert bot.ask("星河公司的创始人是谁？", top_k=1, threshold=1).abstained
    for mode in ("bogus", ""):
        with pytest.raises(QuestionError, match="mode must be one of"):
            bot.ask("星河公司的创始人是谁？", mode=mode)
    for depth in ("x", -5, 2.5, float("nan")):
        with pytest.raises(QuestionError, match="depth must be a whole number"):
            bot.ask("星河公司的创始人是谁？", depth=depth)
    from qa.bot import ask

    with pytest.raises(TypeError, match="config must be a qa.Config"):
        ask("星河公司的创始人是谁？", config="x")
    from index.store import StoreError

    for where in ("", None):
        with pytest.raises(StoreError, match="give an index directory"):
            QABot.from_index(where)
    with pytest.raises(ValueError, match="at least 1"):
        Config(top_k=-1)


def test_a_question_pasted_with_invisible_characters_is_asked_without_them():
    from qa.bot import QuestionError, validate_question

    assert validate_question("\ufeff钉钉 用户有多少？\u200b\n", 500) == "钉钉 用户有多少？"
    assert validate_question("cafe\u0301?", 500) == "cafe\u0301?" and validate_question("cafe\u0301", 500) == "cafe\u0301"
    for blank in ("\u200b\u200c\u200d\u2060\ufeff \u3000", "\u00ad\u200e\u200f\u2061\u180e\u202a",
                  "\u034f\ufe0f\u3164\u2800"):
        with pytest.raises(QuestionError, match="empty"):
            validate_question(blank, 500)


def test_settings_an_existing_index_keeps_are_noted_not_silently_ignored(corpus, tmp_path, tiny_encoder_path,
                                                                        tiny_qa_model, capsys):
    idx = tmp_path / "idx"
    assert main(["index", str(corpus / "a.txt"), "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    capsys.readouterr()
    assert main(["index", str(corpus / "b.md"), "--index", str(idx), "--faiss", "hnsw"]) == 0
    assert f"note: {idx} keeps its FAISS index (flat); --faiss applies to new indexes" in capsys.readouterr().err
    assert main(["index", str(corpus / "b.md"), "--index", str(idx), "--faiss", "flat"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert main(["ask", "星河公司的创始人是谁？", "--index", str(idx), "--chunk-size", "100",
                 "--reader", str(tiny_qa_model)]) == 0
    assert f"note: {idx} keeps its chunk size 250; --chunk-size applies to --corpus" in capsys.readouterr().err
    assert main(["ask", "星河公司的创始人是谁？", "--index", str(idx), "--chunk-size", "250",
                 "--reader", str(tiny_qa_model)]) == 0
    assert "note:" not in capsys.readouterr().err



def test_a_damaged_corpus_cache_entry_is_rebuilt(corpus, tmp_path, tiny_encoder_path, tiny_qa_model, monkeypatch):
    """The cache is zhqa's own: an entry that lost its manifest is replaced, not refused as an --index is."""
    import qa.bot
    from qa.bot import QABot
    from qa.config import Config

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model))
    QABot.from_corpus([corpus / "a.txt"], config)
    entry = next(p for p in (tmp_path / "cache" / "indexes").iterdir() if p.is_dir())
    (entry / "manifest.json").unlink()
    monkeypatch.setattr(qa.bot, "_BOTS", {})
    bot = QABot.from_corpus([corpus / "a.txt"], config)
    assert [i.source for i in bot.document_infos()] == [str(corpus / "a.txt")]
    assert (entry / "manifest.json").exists()


def test_an_empty_corpus_path_is_refused_not_taken_for_the_working_folder():
    from index.ingest import path_list

    with pytest.raises(ValueError, match="a path is empty"):
        path_list("")
    with pytest.raises(ValueError, match="a path is empty"):
        path_list(["docs", " "])


def test_a_file_indexed_again_replaces_its_earlier_version(tmp_path, tiny_encoder_path, capsys):
    """A document's id holds a hash of its text: without matching by file, an edited file was added
    beside its old version, and questions found the old figures too."""
    from index.store import IndexStore

    docs = tmp_path / "docs"
    docs.mkdir()
    f = docs / "dingtalk.txt"
    f.write_text("钉钉用户统计\n截至2023年3月31日，钉钉用户超过6亿。\n", encoding="utf-8")
    (docs / "other.txt").write_text("星河公司的创始人是李明远。\n", encoding="utf-8")
    idx = tmp_path / "idx"
    args = ["index", str(docs), "--index", str(idx), "--encoder", str(tiny_encoder_path)]
    assert main(args) == 0
    capsys.readouterr()
    f.write_text("钉钉用户统计\n截至2024年3月31日，钉钉用户超过7亿。\n", encoding="utf-8")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "added 0, updated 1, unchanged 1 document(s)" in out and "1 earlier version(s) removed" in out
    store = IndexStore.load(idx)
    texts = [store.documents[d].document.text for d in store.documents]
    assert len(texts) == 2 and not any("6亿" in t for t in texts) and any("7亿" in t for t in texts)


def test_the_document_list_escapes_names_that_would_split_or_colour_its_rows(tmp_path, tiny_encoder_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a\tb\x1b[31m.txt").write_text("星河公司的创始人是李明远。\n", encoding="utf-8")
    idx = tmp_path / "idx"
    assert main(["index", str(docs), "--index", str(idx), "--encoder", str(tiny_encoder_path), "--list"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if "\t" in ln]
    assert len(rows) == 1 and len(rows[0].split("\t")) == 3 and "\x1b" not in rows[0] and "\\x1b[31m" in rows[0]


def test_a_corpus_folder_with_a_file_name_that_is_not_utf8_is_read_without_it(tmp_path, tiny_encoder_path,
                                                                               tiny_qa_model, capsys, monkeypatch):
    import os

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.txt").write_text("星河公司的创始人是李明远。\n", encoding="utf-8")
    with open(os.path.join(os.fsencode(docs), b"bad\xff.txt"), "wb") as fh:
        fh.write("钉钉用户超过6亿。\n".encode("utf-8"))
    rc = main(["ask", "星河公司的创始人是谁？", "--corpus", str(docs), "--json", "--threshold", "0",
               "--encoder", str(tiny_encoder_path), "--reader", str(tiny_qa_model)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "bad\\xff.txt" in out.err and "Traceback" not in out.err


def test_an_answer_prints_as_one_line_a_field_naming_its_file(capsys):
    from qa.answer import Answer
    from qa.cli import _print_answer

    passage = "门店|店长|销售额\n门店：东湖店；店长：许文杰；销售额：58万元\n门店：西湖店"
    i = passage.index("58万元")
    for source, shown in (("/data/2024-01.csv", "门店 | 店长 | 销售额 · 2024-01.csv"),
                          ("upload:2024-02.csv", "门店 | 店长 | 销售额 · 2024-02.csv"),
                          ("/data/门店 | 店长 | 销售额", "门店 | 店长 | 销售额"), ("", "门店 | 店长 | 销售额")):
        _print_answer(Answer("东湖店的销售额？", "58万元", 0.5, False, "d1", "门店 | 店长 | 销售额", 32, 36, passage,
                             i, i + 4, "d1#0", source=source or None))
        lines = capsys.readouterr().out.splitlines()
        assert lines[1] == f"  出处: {shown} [32:36]"
        assert lines[2] == "  段落: …门店|店长|销售额↵门店：东湖店；店长：许文杰；销售额：【58万元】↵门店：西湖店…"
        assert len(lines) == 3
    for source, place in (("/d/deck.pptx", "第 2 张幻灯片 (slide 2)"), ("upload:book.XLSX", "第 2 个工作表 (sheet 2)"),
                          ("/d/report.pdf", "第 2 页 (page 2)"), (None, "第 2 页 (page 2)")):
        _print_answer(Answer("q", "58万元", 0.5, False, "d1", "t", 32, 36, passage, i, i + 4, "d1#0", page=2,
                             source=source))
        assert capsys.readouterr().out.splitlines()[2] == f"  位置: {place}"
    _print_answer(Answer("q", "58万元", 0.5, False, "d1", "t", 32, 36, passage, i, i + 4, "d1#0", page=2,
                         source="/d/report.pdf", last_page=3))
    assert capsys.readouterr().out.splitlines()[2] == "  位置: 第 2–3 页 (pages 2–3)"
    assert str(Answer("q", "58万元", 0.5, False, "d1", "t", page=2, last_page=3)).endswith("t, pages 2–3)")


def test_close_answers_from_other_documents_are_named(capsys):
    """Nine companies' reports answer 「公司2023年研发投入金额是多少？」 each their own way: the user is told."""
    from qa.answer import Answer, Candidate, other_documents
    from qa.cli import _print_answer
    from ui.app import format_answer

    passage = "公司2023年研发投入金额为9.87亿元。"
    alternatives = (Candidate("9.87亿元", 0.6, "a", "远峰新材年报", 20, 27, "a#0"),       # the same document
                    Candidate("4.37亿元", 0.7, "b", "东岳化工年报", 10, 17, "b#0"),
                    Candidate("3.1亿元", 0.65, "b", "东岳化工年报", 30, 36, "b#1"),        # that document again
                    Candidate("2.2亿元", 0.3, "c", "启明医药年报", 5, 11, "c#0"))         # too far below
    a = Answer("公司2023年研发投入金额是多少？", "9.87亿元", 0.8, False, "a", "远峰新材年报", 10, 17, passage,
               passage.index("9.87"), passage.index("9.87") + 6, "a#0", alternatives=alternatives)
    assert [c.doc_id for c in other_documents(a)] == ["b"]
    _print_answer(a)
    assert capsys.readouterr().out.splitlines()[-1] == "  其他文档也有答案: 4.37亿元 (东岳化工年报, 0.70)"
    assert "其他文档也有答案" in format_answer(a) and "东岳化工年报" in format_answer(a)
    alone = Answer("q", "9.87亿元", 0.8, False, "a", "t", 10, 17, passage, 9, 15, "a#0", alternatives=alternatives[3:])
    _print_answer(alone)
    assert "其他文档" not in capsys.readouterr().out and "其他文档" not in format_answer(alone)
