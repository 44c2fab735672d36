"""One optimizer step of reader training: batch the windows, forward, loss, backward, clip, step.

Why its own module: the training loop (:mod:`qa.training.reader`) and the step-time benchmark
(``benchmarks/train_batches.py``, which times it without a teacher) must run the same step, gradient
clipping included, rather than two copies that drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

from index.hardware import bf16_is_fast
from index.mean_pool_encoder import padded_rows


@dataclass(frozen=True)
class StepLosses:
    """What one step minimized: the span loss, and the distillation term when a teacher was given."""

    span: float
    distill: float | None = None


def collate(windows: list, pad_id: int):
    """Input ids and attention mask padded to the batch's longest window, and the answer positions."""
    import torch

    input_ids, mask = padded_rows([w.ids for w in windows], pad_id)
    starts = torch.tensor([w.start for w in windows])
    ends = torch.tensor([w.end for w in windows])
    return input_ids, mask, starts, ends


def distillation_term(teacher, windows: list, out, pad_id: int, device: str, temperature: float):
    """The distillation term for one batch: the teacher reads each window (or its Chinese question's
    view, :func:`qa.training.distill.teacher_view`) without gradient."""
    import torch

    from qa.training.distill import distill_loss

    if not any(w.compared for w in windows):   # nothing to compare: spare the forward pass
        return out.start_logits.sum() * 0.0
    ids, mask = (t.to(device) for t in padded_rows([w.teacher.ids if w.teacher is not None else w.ids
                                                    for w in windows], pad_id))
    with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                                         enabled=bf16_is_fast(device)):
        t_out = teacher(input_ids=ids, attention_mask=mask)
    return distill_loss(out.start_logits, out.end_logits, t_out.start_logits, t_out.end_logits, windows,
                        temperature)


def training_step(model, optimizer, params: list, windows: list, pad_id: int, device: str, teacher=None,
                  distill_weight: float = 0.0, temperature: float = 2.0) -> StepLosses:
    """Forward ``windows`` under bf16 autocast where ``device`` runs bf16 natively (it is 5× slower than
    fp32 on a CPU without AVX-512 BF16 / AMX), add ``distill_weight`` × the distillation term when a
    ``teacher`` is given, back-propagate, clip ``params``' gradients to norm 1 and step ``optimizer``."""
    import torch

    input_ids, mask, starts, ends = (t.to(device) for t in collate(windows, pad_id))
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16_is_fast(device)):
        out = model(input_ids=input_ids, attention_mask=mask, start_positions=starts, end_positions=ends)
    objective = out.loss
    kl = None
    if teacher is not None:
        kl = distillation_term(teacher, windows, out, pad_id, device, temperature)
        objective = objective + distill_weight * kl
    objective.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepLosses(float(out.loss.detach()), None if kl is None else float(kl.detach()))
