"""index/bert.py computes what transformers' BERT computes, from the same weights and config."""
import json

import pytest
import torch

from index.bert import Bert, BertForSpans, load_bert


def _hf(tmp_path, qa: bool):
    from transformers import BertConfig, BertForQuestionAnswering, BertModel

    torch.manual_seed(3)
    config = BertConfig(vocab_size=97, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=80, max_position_embeddings=64, type_vocab_size=2)
    model = (BertForQuestionAnswering if qa else BertModel)(config).eval()
    model.save_pretrained(str(tmp_path))
    return model


def _inputs():
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(3, 97, (3, 17), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 11:] = 0     # padded windows, as a batch has
    mask[2, 5:] = 0
    return ids, mask


def test_the_encoder_stack_matches_transformers(tmp_path):
    hf = _hf(tmp_path, qa=False)
    state = {k: v for k, v in hf.state_dict().items()}
    ours = load_bert(Bert, tmp_path, state)
    ids, mask = _inputs()
    with torch.inference_mode():
        want = hf(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        got = ours(ids, mask, output_hidden_states=True)
    assert len(got) == len(want.hidden_states)
    for a, b in zip(got, want.hidden_states):
        assert torch.allclose(a[mask.bool()], b[mask.bool()], atol=1e-5)


def test_the_span_head_matches_transformers_and_shares_a_given_table(tmp_path):
    hf = _hf(tmp_path, qa=True)
    key = "bert.embeddings.word_embeddings.weight"
    table = hf.state_dict()[key].clone()
    state = {k: v for k, v in hf.state_dict().items() if k != key}
    ours = load_bert(BertForSpans, tmp_path, state, table=table, skip=key)
    assert ours.get_input_embeddings().weight.data_ptr() == table.data_ptr()
    ids, mask = _inputs()
    with torch.inference_mode():
        want = hf(input_ids=ids, attention_mask=mask)
        got = ours(ids, mask)
    assert torch.allclose(got.start_logits[mask.bool()], want.start_logits[mask.bool()], atol=1e-5)
    assert torch.allclose(got.end_logits[mask.bool()], want.end_logits[mask.bool()], atol=1e-5)


def test_missing_weights_and_other_architectures_are_refused(tmp_path):
    hf = _hf(tmp_path, qa=True)
    state = {k: v for k, v in hf.state_dict().items() if "layer.2" not in k}
    with pytest.raises(ValueError, match="weights missing"):
        load_bert(BertForSpans, tmp_path, state)
    with pytest.raises(ValueError, match="another architecture"):
        load_bert(BertForSpans, tmp_path, {**hf.state_dict(), "roberta.embeddings.word_embeddings.weight": torch.zeros(1)})
    wrong = dict(hf.state_dict())
    wrong["qa_outputs.weight"] = torch.zeros(3, 48)
    with pytest.raises(ValueError, match="do not match config.json"):
        load_bert(BertForSpans, tmp_path, wrong)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "hidden_act": "relu"}))
    with pytest.raises(ValueError, match="not a plain BERT config"):
        load_bert(BertForSpans, tmp_path, hf.state_dict())


def test_linear_weights_held_in_bf16_give_what_bf16_autocast_gives(tmp_path):
    from index.bert import hold_linear_weights_in

    hf = _hf(tmp_path, qa=True)
    autocast = load_bert(BertForSpans, tmp_path, hf.state_dict())
    held = hold_linear_weights_in(load_bert(BertForSpans, tmp_path, hf.state_dict()), torch.bfloat16)
    assert held.qa_outputs.weight.dtype == torch.bfloat16
    assert held.bert.embeddings.LayerNorm.weight.dtype == torch.float32
    ids, mask = _inputs()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = autocast(ids, mask), held(ids, mask)
    assert torch.equal(a.start_logits, b.start_logits) and torch.equal(a.end_logits, b.end_logits)


def test_packed_weights_give_what_bf16_autocast_gives(tmp_path):
    from index.bert import PackedLinear, packing_works, prepare_for_bf16_cpu

    hf = _hf(tmp_path, qa=True)
    autocast = load_bert(BertForSpans, tmp_path, hf.state_dict())
    model = load_bert(BertForSpans, tmp_path, hf.state_dict())
    how = prepare_for_bf16_cpu(model)
    layer = model.bert.encoder.layer[0]
    if packing_works():   # an x86 torch build with oneDNN, as every CPU wheel on PyPI
        assert how == "packed" and isinstance(layer.attention.qkv, PackedLinear)
        assert isinstance(layer.intermediate.dense, PackedLinear) and not hasattr(layer.attention.self, "query")
    else:
        assert how == "held" and layer.attention.qkv is None
        assert layer.attention.self.query.weight.dtype == torch.bfloat16
    ids, mask = _inputs()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = autocast(ids, mask), model(ids, mask)
    if how == "packed":   # the same oneDNN bf16 products as autocast's F.linear: the same bits
        assert torch.equal(a.start_logits, b.start_logits) and torch.equal(a.end_logits, b.end_logits)
    else:
        assert torch.allclose(a.start_logits, b.start_logits, atol=0.02)


def test_without_the_packing_ops_weights_are_held_in_bf16(tmp_path, monkeypatch):
    import index.bert as bert

    monkeypatch.setattr(bert, "packing_works", lambda: False)
    hf = _hf(tmp_path, qa=False)
    model = load_bert(Bert, tmp_path, hf.state_dict())
    assert bert.prepare_for_bf16_cpu(model) == "held"
    assert model.encoder.layer[0].attention.self.key.weight.dtype == torch.bfloat16
    ids, mask = _inputs()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(ids, mask)[-1].shape == (3, 17, 48)


@pytest.mark.parametrize("packed", [True, False])
def test_layers_run_in_bf16_without_autocast_and_stay_near_fp32(tmp_path, monkeypatch, packed):
    import index.bert as bert
    from index.bert import prepare_for_bf16_cpu, run_layers_in_bf16

    if not packed:   # where oneDNN's packing ops are missing, the weights are held in bf16 instead
        monkeypatch.setattr(bert, "packing_works", lambda: False)
    hf = _hf(tmp_path, qa=False)
    reference = load_bert(Bert, tmp_path, hf.state_dict())
    model = load_bert(Bert, tmp_path, hf.state_dict())
    prepare_for_bf16_cpu(model)
    run_layers_in_bf16(model)
    layer = model.encoder.layer[0]
    assert layer.output.LayerNorm.weight.dtype == torch.bfloat16
    assert model.embeddings.LayerNorm.weight.dtype == torch.float32, "the embeddings' norm stays as it was"
    ids, mask = _inputs()
    with torch.inference_mode():
        ours, theirs = model(ids, mask)[-1], reference(ids, mask)[-1]
    assert ours.dtype == torch.bfloat16   # no autocast needed: every layer computes in bf16
    keep = mask.bool()
    cosine = torch.nn.functional.cosine_similarity(ours.float()[keep], theirs[keep], dim=-1)
    assert cosine.min() > 0.999, cosine.min()


def test_padding_to_a_multiple_of_32_leaves_the_real_positions_alone(tmp_path):
    from index.bert import padded_to_multiple

    torch.manual_seed(0)
    ids = torch.randint(5, 90, (3, 37))
    mask = torch.ones_like(ids)
    mask[1, 30:] = 0
    padded_ids, padded_mask = padded_to_multiple(ids, mask, pad_id=1, limit=512)
    assert padded_ids.shape == (3, 64) and (padded_ids[:, 37:] == 1).all() and not padded_mask[:, 37:].any()
    assert padded_to_multiple(ids, mask, pad_id=1, limit=40)[0] is ids, "never past the model's longest input"
    assert padded_to_multiple(ids[:, :32], mask[:, :32], pad_id=1, limit=512)[0].shape == (3, 32)
    hf = _hf(tmp_path, qa=True)
    ours = load_bert(BertForSpans, tmp_path, dict(hf.state_dict()))
    ids, mask = _inputs()
    longer_ids, longer_mask = padded_to_multiple(ids, mask, pad_id=0, limit=64)
    assert longer_ids.shape[1] == 32
    with torch.inference_mode():
        want, got = ours(ids, mask), ours(longer_ids, longer_mask)
    keep = mask.bool()
    assert torch.allclose(want.start_logits[keep], got.start_logits[:, :17][keep], atol=1e-5)
