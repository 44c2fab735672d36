"""Shared fixtures: tiny randomly initialised models built in the test, and paths to shared data."""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# A session-wide cache so the embedded encoder is converted once per test run; removed at exit when
# made here (the converted encoder alone is about 500 MB).
if not os.environ.get("ZHQA_CACHE_DIR"):
    os.environ["ZHQA_CACHE_DIR"] = tempfile.mkdtemp(prefix="zhqa-test-cache-")
    atexit.register(shutil.rmtree, os.environ["ZHQA_CACHE_DIR"], True)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = ROOT / "qa" / "samples" / "alibaba_esg_2023.txt"

_CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
          "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
          "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道"
          "命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求"
          "老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门"
          "即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带"
          "安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界"
          "拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往"
          "酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆"
          "包火住调满县局照参红细引听该铁价严龙飞阿巴财年活跃公益幸福团超碳排放减吨钉用户亿问题？。，、0123456789abcdefghijklmnopqrstuvwxyz%.")


def _char_tokenizer(path: Path):
    """A character-level fast tokenizer with BERT-style specials and offsets."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = {t: i for i, t in enumerate(specials + sorted(set(_CHARS)))}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Split("", "isolated")])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", model_max_length=128,
                                   model_input_names=["input_ids", "attention_mask"])
    fast.save_pretrained(str(path))
    return fast, len(vocab)


def _tiny_config(vocab_size: int):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128, type_vocab_size=2)


@pytest.fixture(scope="session")
def tiny_qa_model(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT question-answering model with a char tokenizer."""
    import torch
    from transformers import BertForQuestionAnswering

    path = tmp_path_factory.mktemp("tiny-qa")
    _, n = _char_tokenizer(path)
    torch.manual_seed(0)
    BertForQuestionAnswering(_tiny_config(n)).save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory) -> Path:
    """A randomly initialised sentence-transformers model (BERT + mean pooling + normalize)."""
    import torch
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # older sentence-transformers
        from sentence_transformers import models
    from transformers import BertModel

    path = tmp_path_factory.mktemp("tiny-st")
    hf = path / "hf"
    _, n = _char_tokenizer(hf)
    torch.manual_seed(0)
    BertModel(_tiny_config(n)).save_pretrained(str(hf))
    word = models.Transformer(str(hf), max_seq_length=128)
    st = SentenceTransformer(modules=[word, models.Pooling(32, "mean"), models.Normalize()], device="cpu")
    out = path / "st"
    st.save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_encoder(tiny_encoder_path):
    from index.embed import Encoder

    return Encoder(str(tiny_encoder_path))


TWO_FACTS = (("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。"),
             ("d2", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。"))


@pytest.fixture
def saved(tiny_encoder, tmp_path, monkeypatch):
    """A small segmented index of two documents saved at ``tmp_path / "idx"``, with its own user cache."""
    from index.documents import Document
    from index.store import IndexStore

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    store.add_documents([Document(i, title, text, "mem") for i, title, text in TWO_FACTS], tiny_encoder)
    return store.save(tmp_path / "idx")


def pytest_collection_modifyitems(config, items):
    # Unit tests first, end-to-end tests after (they load the real models).
    items.sort(key=lambda it: 1 if it.get_closest_marker("e2e") else 0)


@contextlib.contextmanager
def served_ui(bot, **options):
    """The real Gradio app over ``bot`` on a free local port, for the test's duration; yields its URL."""
    import socket

    from ui.app import start

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = start(bot, host="127.0.0.1", port=port, block=False, quiet=True, **options)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
