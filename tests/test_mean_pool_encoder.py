"""The plain-torch mean-pooling encoder batches texts by token count and hands each text its own vector."""
import numpy as np
import pytest

import index.mean_pool_encoder as mean_pool

TEXTS = ["阿里巴巴", "2023财年活跃的公益幸福团超110个，参与的员工和家属超过一万人。", "碳排放",
         "钉钉用户超6亿", "今年的报告说明了减碳的进展和下一步的计划，以及公益的投入。", "张", "问题？", "一二三四五六七",
         "公益幸福团" * 40]   # past the model's 128 tokens: cut there


@pytest.fixture(scope="module")
def encoder(tiny_encoder_path):
    from transformers import AutoTokenizer

    return mean_pool.MeanPoolingEncoder(tiny_encoder_path, tokenizer=AutoTokenizer.from_pretrained(str(tiny_encoder_path)))


def test_vectors_are_sentence_transformers_in_the_callers_order(encoder, tiny_encoder, monkeypatch):
    monkeypatch.setattr(mean_pool, "SORT_BLOCK", 3)   # blocks of 3, batches of 2: every path of the loop
    ours = encoder.encode(TEXTS, batch_size=2).numpy()
    theirs = tiny_encoder.model.encode(TEXTS, normalize_embeddings=True)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=2e-5)
    alone = np.stack([encoder.encode([t]).numpy()[0] for t in TEXTS])
    np.testing.assert_allclose(ours, alone, atol=2e-5)   # padding beside longer texts changes nothing


def test_a_batch_holds_texts_of_like_length(encoder, monkeypatch):
    seen: list[list[int]] = []
    batcher = encoder._batcher

    def recording(ids, mask):
        seen.append(mask.sum(1).tolist())
        return batcher(ids, mask)

    monkeypatch.setattr(encoder, "_batcher", recording)
    encoder.encode(TEXTS, batch_size=3)
    lengths = [n for batch in seen for n in batch]
    assert lengths == sorted(lengths, reverse=True), "longest first, across the whole block"
    assert [len(b) for b in seen] == [3, 3, 3]
    tokens = encoder.tokenizer(TEXTS, truncation=True, max_length=128)["input_ids"]
    assert sorted(len(t) for t in tokens)[::-1] == lengths



def test_a_sentence_transformers_encoder_embeds_in_pieces_in_order(tiny_encoder, monkeypatch):
    import index.embed as embed

    whole = tiny_encoder.encode_passages(TEXTS)
    monkeypatch.setattr(embed, "SERIALIZED_PIECE", 2)   # its lock is let go between pieces
    pieces = tiny_encoder.encode_passages(TEXTS, progress=True)
    assert pieces.shape == (len(TEXTS), tiny_encoder.info.dimension) and pieces.dtype == np.float32
    np.testing.assert_allclose(pieces, whole, atol=2e-5)
    assert tiny_encoder.encode_passages([]).shape == (0, tiny_encoder.info.dimension)
