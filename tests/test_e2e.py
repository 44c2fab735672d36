"""End-to-end on the real embedded models over the bundled article."""
import json

import pytest
import torch

from qa import Config, QABot, QuestionError
from tests.conftest import SAMPLE, SHARED

pytestmark = pytest.mark.e2e
Q_FUYI = "2023财年阿里活跃的公益幸福团有多少个？"


def _squash(s: str) -> str:
    return "".join(s.split())


@pytest.fixture(scope="module")
def bot():
    return QABot.default(Config())


def test_hybrid_retrieval_ranks_the_fuyi_passage_first(bot):
    hits = bot.retriever.retrieve(Q_FUYI, top_k=5)
    assert "公益幸福团超110个" in _squash(hits[0].chunk.text)
    for mode in ("dense", "bm25"):
        hits = bot.retriever.retrieve(Q_FUYI, top_k=5, mode=mode)
        assert any("公益幸福团超110个" in _squash(h.chunk.text) for h in hits), mode


def test_ask_returns_the_exact_span_with_offsets_into_the_original(bot):
    a = bot.ask(Q_FUYI)
    assert not a.abstained
    assert _squash(a.text) in {"超110个", "110个"}
    original = SAMPLE.read_text(encoding="utf-8")
    assert _squash(original[a.start:a.end]) == _squash(a.text)
    assert a.passage[a.passage_start:a.passage_end] == a.text
    assert 0 < a.score <= 1 and a.score >= a.threshold
    assert a.passages and a.passages[0].text


def test_a_report_that_names_its_company_only_in_the_headline_is_answered(tmp_path):
    """The reader reads each passage after its document's title (Config.read_titles): asked about the
    company, it answered with the company's name or abstained when the passage says only 「公司」."""
    filler = ["公司持续完善内部治理结构。", "报告期内公司经营稳健。", "公司高度重视安全生产工作。", "公司积极履行社会责任。",
              "公司不断加强研发投入和人才培养。", "公司持续优化供应链管理体系。", "公司坚持以客户为中心的经营理念。"]
    firms = [("青禾农业股份有限公司", "钟立群"), ("蓝鲸航运集团有限公司", "魏东海"), ("紫荆电子科技有限公司", "白若兰")]
    for i, (firm, chair) in enumerate(firms):
        body = [f"{firm}2023年度报告摘要\n", f"{firm}是一家成立多年的企业。"]
        body += [filler[(i + j) % len(filler)] for j in range(40)]
        body.insert(25, f"公司董事长为{chair}。")
        (tmp_path / f"report{i}.txt").write_text("".join(body) + "\n", encoding="utf-8")
    reports = QABot.from_corpus([tmp_path])
    for firm, chair in firms:
        a = reports.ask(f"{firm[:4]}的董事长是谁？")
        assert a.text == chair, (firm, a.text, a.score)
        assert a.title.startswith(firm) and chair not in a.title
        source = (tmp_path / f"report{firms.index((firm, chair))}.txt").read_text(encoding="utf-8")
        assert source[a.start:a.end] == chair and a.passage[a.passage_start:a.passage_end] == chair


def test_a_simplified_question_over_a_traditional_report_is_read_in_its_script(tmp_path):
    report = ("宏碩電子股份有限公司2023年度股東會年報\n宏碩電子股份有限公司成立於1996年，總部位於新竹科學園區。"
              "本公司2023年合併營收為新臺幣1,258億元，較前一年成長百分之八。董事長為陳俊宏，總經理為林美華。\n")
    (tmp_path / "hongshuo.txt").write_text(report, encoding="utf-8")
    reports = QABot.from_corpus([tmp_path])
    asked = {q: reports.ask(q) for q in ("宏硕电子2023年合并营收是多少？", "宏碩電子2023年合併營收是多少？")}
    for q, a in asked.items():
        assert a.text == "新臺幣1,258億元" and report[a.start:a.end] == a.text, (q, a.text)
    simplified, traditional = asked.values()
    assert simplified.score == pytest.approx(traditional.score, abs=1e-6), "the reader is asked the same question"


def test_an_answer_may_be_the_first_word_after_a_title(bot):
    """The reader's tokenizer reads 「\n中国」 as one token: held back by the title's mask, it could not start
    an answer."""
    head = "蓝鲸航运集团有限公司2023年度报告摘要\n"
    spans = bot.reader.read("蓝鲸航运的第一大股东是谁？", [head + "中国平安是公司第一大股东。"], answer_from=[len(head)])
    assert spans[0].text == "中国平安" and spans[0].start == len(head)
    assert all(s.start >= len(head) for s in spans)


def test_english_question_on_chinese_text(bot):
    a = bot.ask("How many 公益幸福团 were active in fiscal year 2023?")
    assert "110" in a.text


def test_english_questions_find_their_chinese_passage(bot):
    """Query translation (qa/query_translation.py) ranks the passage higher than e5-small alone did
    (DingTalk ↔ 钉钉 was 4th; the CEO passage 8th, beyond the five the reader reads)."""
    def rank(question, needle, translate):
        bot.retriever.translate = translate
        try:
            hits = bot.retriever.retrieve(question, top_k=10)
        finally:
            bot.retriever.translate = bot.config.query_translation
        return next((i for i, h in enumerate(hits) if needle in _squash(h.chunk.text)), 99)

    for question, needle in (("How many users does DingTalk have?", "钉钉用户超"),
                             ("What is the name of the CEO of Alibaba?", "首席执行官张勇")):
        translated, plain = rank(question, needle, "bm25"), rank(question, needle, "off")
        assert translated < min(plain, bot.config.top_k), (question, translated, plain)


def test_english_questions_are_answered_from_the_chinese_text(bot):
    """Issue 12's English end-to-end questions: retrieval and the reader both get the question's
    Chinese words that the documents hold (qa/query_translation.py)."""
    a = bot.ask("How many users does DingTalk have?")
    assert not a.abstained and _squash(a.text) in ("超6亿", "6亿"), (a.text, a.score)
    a = bot.ask("What is the name of the CEO of Alibaba?")
    assert not a.abstained and a.text == "张勇", (a.text, a.score)


def test_seed_dev_questions(bot):
    rows = [json.loads(line) for line in (SHARED / "eval" / "seed_dev.jsonl").read_text().splitlines() if line]
    answerable = [r for r in rows if r["answers"]]
    right = 0
    for r in answerable:
        a = bot.ask(r["question"])
        right += any(_squash(a.text) == _squash(g) for g in r["answers"])
    assert right / len(answerable) >= 0.9, f"{right}/{len(answerable)}"  # the models issue's bar


V2_ABSTENTION = ("reader v3 still answers questions about another company (腾讯 → Alibaba's 468.1万吨, span score 0.25) "
                 "and the revenue question (→ the poverty counties' sales 1300亿元, 0.05) above its 0.0308 threshold: "
                 "one span-score threshold cannot tell these from answerable questions (issue 12, left open)")


@pytest.mark.xfail(strict=True, reason=V2_ABSTENTION)
def test_questions_the_article_does_not_answer_score_low(bot):
    known = [bot.ask(q).score for q in (Q_FUYI, "阿里巴巴集团董事会主席兼首席执行官是谁？", "钉钉用户超过多少？")]
    for q in ("腾讯公司2023年的碳排放是多少？", "阿里巴巴2023财年的营业收入是多少？"):
        a = bot.ask(q)
        assert a.abstained or a.score < min(known), (q, a.text, a.score)
    # another company's figures: the hard-negative-trained reader abstains outright
    assert bot.ask("腾讯公司2023年的碳排放是多少？").abstained


def test_answers_keep_quotation_marks_only_in_pairs(bot):
    # the article: 构建“1+6+N”组织结构; v1 answered 1+6+N (the enclosing pair dropped), v2 answers
    # “1+6+N”组织结构: a pair inside the answer stays, a half pair or edge punctuation never does
    text = bot.ask("阿里巴巴构建了什么样的组织结构？").text
    assert "1+6+N" in text and text.count("“") == text.count("”")
    assert text[-1] not in "，。、；：！？" and text[0] not in "，。、；：！？”"


def test_revenue_question_is_read_as_a_money_question_and_counts_are_dropped(bot):
    """The article states no revenue; v1's favourite figure was a count (超110个)."""
    q = "阿里巴巴2023财年的营业收入是多少？"
    a = bot.ask(q)
    assert a.asked_measure == "money" and a.to_dict()["asked_measure"] == "money"
    assert all("110个" not in c.text for c in (a, *a.alternatives))
    untyped = QABot(bot.store, Config(answer_types=False))
    assert untyped.ask(q).asked_measure is None
    # a question about a sum the article does state is answered
    assert "1300亿元" in bot.ask("2023财年全国832个脱贫县在阿里巴巴平台的销售额是多少？").text


def test_a_year_the_article_never_names_gets_no_answer_from_another_year(bot):
    """The article states fiscal 2023's figures (and names 2015, 2021, 2022): asked about 2019 or fiscal
    2024, the reader's confident 2023 figure is no answer (qa/reader/time_agreement.py)."""
    for q, years in (("2019年阿里巴巴派出了多少位乡村振兴特派员？", ("2019",)),
                     ("２０２４财年阿里巴巴带动平台生态减碳多少万吨？", ("2024",)),
                     ("How many tons did Alibaba's platform ecosystem cut in FY2024?", ("2024",))):
        a = bot.ask(q)
        assert a.abstained and a.text == "" and not a.alternatives, (q, a.text, a.score)
        assert a.other_years == years and a.to_dict()["other_years"] == years
    assert "27位" in bot.ask("阿里巴巴累计派出了多少位乡村振兴特派员？").text
    assert "2290.7" in bot.ask("2023财年阿里巴巴带动平台生态减碳多少万吨？").text


def test_a_choice_question_is_answered_with_the_option_the_article_states(bot):
    """The reader's best span was 「12.9%」, the figure next to 「下降」 (qa/reader/choice.py)."""
    a = bot.ask("2023财年阿里巴巴自身运营二氧化碳净排放是上升了还是下降了？")
    assert a.text == "下降" and not a.abstained
    assert SAMPLE.read_text(encoding="utf-8")[a.start:a.end] == "下降"


@pytest.mark.xfail(strict=True, reason=V2_ABSTENTION)
def test_revenue_question_abstains(bot):
    a = bot.ask("阿里巴巴2023财年的营业收入是多少？")
    assert a.abstained and a.text == "", (a.text, a.score)


def test_abstains_above_threshold_and_validates_questions(bot):
    a = bot.ask(Q_FUYI, threshold=1.0)
    assert a.abstained and a.text == "" and a.alternatives
    with pytest.raises(QuestionError):
        bot.ask("")
    with pytest.raises(QuestionError):
        bot.ask("问" * 10_000)


def test_module_level_ask_uses_the_bundled_article():
    from qa import ask

    assert "110" in ask(Q_FUYI).text


def test_the_shipped_reader_has_its_calibration_and_no_verifier(bot):
    from qa.reader.loading import ReaderLoadError, SHIPPED_READER_DIR

    calibration = json.loads((SHIPPED_READER_DIR / "calibration.json").read_text())
    assert bot.reader.verifier is None and bot.threshold == pytest.approx(calibration["threshold"])
    assert bot.english_threshold == pytest.approx(calibration["threshold_english"])
    assert bot.threshold_for("How many users does DingTalk have?") == bot.english_threshold
    assert bot.threshold_for(Q_FUYI) == bot.threshold
    # the verifier was trained for the previous reader's weights; v2 ships without one
    with pytest.raises(ReaderLoadError, match="has none"):
        QABot(bot.store, Config(verifier=True))


def test_encoder_and_reader_hold_one_word_embedding_table(bot):
    enc = bot.encoder.transformer.get_input_embeddings().weight
    rd = bot.reader.model.get_input_embeddings().weight
    assert enc.data_ptr() == rd.data_ptr() and enc.shape == rd.shape == (250037, 384)
    assert enc.dtype == torch.float16   # 192 MB: what answering reads (training takes an fp32 copy)
    assert not enc.requires_grad and not rd.requires_grad
    # and one tokenizer (its vocabulary is about 350 MB resident), called under one lock
    assert bot.encoder.model.tokenizer is bot.reader.tokenizer
    assert bot.encoder.model._tokenizer_lock is bot.reader._tokenizer_lock


def test_the_embedded_encoder_needs_no_sentence_transformers_and_matches_it(bot):
    import subprocess
    import sys

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from index.e5_convert import embedded_e5_path

    texts = ["钉钉用户超过多少？", "How many users does DingTalk have?", _squash(bot.store.chunks[0].text), "公益" * 400]
    reference = SentenceTransformer(str(embedded_e5_path()))
    for prompt, ours in (("query", bot.encoder.encode_queries), ("passage", bot.encoder.encode_passages)):
        ref = reference.encode(texts, prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True)
        if bot.encoder.dtype == "float32":   # the fp16 table moves unit vectors by at most 1.3e-5
            assert np.abs(ref - ours(texts)).max() < 5e-5
        else:  # bf16 autocast against sentence-transformers in fp32
            assert (ref * ours(texts)).sum(1).min() > 0.995
    code = ("import sys; from qa import QABot; QABot.default().ask('钉钉用户超过多少？'); "
            "print(*(m in sys.modules for m in ('sentence_transformers', 'sklearn', 'transformers', 'tokenizers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["False", "False", "False", "False"], out.stderr[-2000:]


def test_the_lean_tokenizer_and_reader_give_transformers_ids_offsets_and_logits(bot):
    """Answering runs index/bert.py and index/lean_tokenizer.py; training runs transformers. Same numbers."""
    import torch

    from index.e5_convert import shared_tokenizer
    from index.lean_tokenizer import LeanTokenizer
    from qa.reader.loading import load_reader_model

    lean, hf = bot.reader.tokenizer, shared_tokenizer()
    assert isinstance(lean, LeanTokenizer)
    text = SAMPLE.read_text(encoding="utf-8")
    passages = [text[:1500], text[1500:1700], "钉钉", text]   # one, several and many windows
    questions = [Q_FUYI, "How many users does DingTalk have?"]
    kwargs = dict(truncation="only_second", max_length=384, stride=128, return_overflowing_tokens=True,
                  return_offsets_mapping=True, padding="longest", return_tensors="pt")
    for q in questions:
        a, b = hf([q] * len(passages), passages, **kwargs), lean([q] * len(passages), passages, **kwargs)
        assert a["input_ids"].shape[0] > len(passages)
        for key in ("input_ids", "attention_mask", "offset_mapping", "overflow_to_sample_mapping"):
            assert torch.equal(a[key], b[key]), key
        assert all(a.sequence_ids(w) == b.sequence_ids(w) for w in range(a["input_ids"].shape[0]))
        single = dict(padding=True, truncation=True, max_length=512, return_tensors="pt")
        assert torch.equal(hf(["query: " + q, text], **single)["input_ids"], lean(["query: " + q, text], **single)["input_ids"])
        assert hf(q, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"] == \
            lean(q, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    from qa.reader.extractive import ExtractiveReader

    reference, _ = load_reader_model(None)   # transformers' BertForQuestionAnswering, as training loads it
    assert type(reference).__module__.startswith("transformers")
    ours = ExtractiveReader(dtype="float32").model
    assert type(ours).__module__ == "index.bert" and ours.get_input_embeddings().weight.dtype == torch.float16
    enc = lean([Q_FUYI] * 2, passages[:2], **kwargs)
    with torch.inference_mode():
        want = reference(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        got = ours(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    keep = enc["attention_mask"].bool()
    # the lean reader reads the fp16 copy of the table (values within 1.2e-4 of the fp32 one)
    assert (want.start_logits[keep] - got.start_logits[keep]).abs().max() < 2e-3
    assert (want.end_logits[keep] - got.end_logits[keep]).abs().max() < 2e-3


def test_questions_embedded_at_the_same_time_share_a_pass_and_get_their_own_vectors(bot):
    """Concurrent askers' questions go through the encoder together (index/batching.py)."""
    import threading

    import numpy as np

    encoder = bot.retriever.encoder
    questions = [Q_FUYI, "钉钉用户超过多少？", "How many users does DingTalk have?", "张勇", "阿里巴巴发布2023年ESG报告",
                 "碳排放实现双降", "公益", "2290.7万吨"]
    alone = np.stack([encoder.encode_queries([q])[0] for q in questions])
    batcher = encoder.model._batcher
    before = (batcher.batches, batcher.requests)
    got = [None] * len(questions)
    start = threading.Barrier(len(questions))

    def ask(i):
        start.wait()
        got[i] = encoder.encode_queries([questions[i]])[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert batcher.requests - before[1] == len(questions)
    assert batcher.batches - before[0] < len(questions), "some questions shared a forward pass"
    cosine = (np.stack(got) * alone).sum(1)
    assert cosine.min() > 0.9995, cosine   # padded in a batch: bf16 rounding may move a vector a little
