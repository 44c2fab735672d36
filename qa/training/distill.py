"""Distillation from the reader a run starts from: its span distributions as soft targets.

Why: every CPU continuation of the shipped reader drifted and lost to it on the held-out sets, and its
English questions trail the same questions in Chinese by ten points of F1. The starting reader, kept
frozen beside the one that trains, answers two purposes: on a window that holds the answer its start
and end distributions hold the student near what it already knew (learning without forgetting, Li and Hoiem,
2016); on a window whose question was code-switched into English, or reworded with English question
words, the teacher reads the *Chinese* question over the same context tokens, so the student learns to
put its probability where the Chinese question would (cross-lingual consistency, as in xTune, Zheng
et al., 2021).

The context tokens of a question-paragraph pair do not depend on the question (each segment is
tokenized alone), so a teacher window is the student's window with the question segment replaced; the
two distributions are compared over the no-answer position (0) and the context tokens.
"""
from __future__ import annotations

from typing import NamedTuple


class TeacherView(NamedTuple):
    """What the teacher reads for one training window, and where its context tokens begin."""
    ids: list[int]
    context_start: int


class Window(NamedTuple):
    """One training window: token ids, answer start/end token (0, 0: no answer in it), where its context
    tokens begin and how many there are, and the teacher's view when it differs from the window itself.
    ``distilled`` is False for a window without the answer (its no-answer label alone teaches it) and for
    an English-worded window whose Chinese view did not fit (the teacher reading the English wording would
    hold the student to its weaker English answers)."""
    ids: list[int]
    start: int
    end: int
    context_start: int = 0
    context_len: int = 0
    teacher: TeacherView | None = None
    distilled: bool = True

    @property
    def compared(self) -> bool:
        """Whether the distillation term compares this window with the teacher's."""
        return self.distilled and self.context_len > 0


def teacher_view(question_ids: list[int], ids: list[int], question_tokens: range, context_start: int,
                 max_length: int) -> TeacherView | None:
    """The window ``ids`` with its question tokens (at ``question_tokens``) replaced by ``question_ids``
    (the Chinese question, tokenized once for all of its windows); None when that does not fit
    ``max_length``."""
    teacher = ids[:question_tokens.start] + question_ids + ids[question_tokens.stop:]
    if len(teacher) > max_length:
        return None
    return TeacherView(teacher, context_start - len(question_tokens) + len(question_ids))


def distill_loss(student_start, student_end, teacher_start, teacher_end, windows: list[Window],
                 temperature: float):
    """KL(teacher ‖ student) of the start and end distributions over each window's no-answer position and
    context tokens, averaged over the windows that have both and the two ends, times temperature²
    (Hinton et al., 2015). The teacher's logits take no gradient."""
    import torch
    import torch.nn.functional as F

    used = torch.tensor([w.compared for w in windows], device=student_start.device)
    if not bool(used.any()):
        return student_start.sum() * 0.0
    n = max(w.context_len for w in windows) + 1
    rows = len(windows)
    device = student_start.device
    s_pos = torch.zeros((rows, n), dtype=torch.long, device=device)
    t_pos = torch.zeros((rows, n), dtype=torch.long, device=device)
    valid = torch.zeros((rows, n), dtype=torch.bool, device=device)
    for r, w in enumerate(windows):
        t0 = w.teacher.context_start if w.teacher is not None else w.context_start
        span = torch.arange(w.context_len, device=device)
        s_pos[r, 1:w.context_len + 1] = w.context_start + span
        t_pos[r, 1:w.context_len + 1] = t0 + span
        valid[r, :w.context_len + 1] = True
    total = 0.0
    for student, teacher in ((student_start, teacher_start), (student_end, teacher_end)):
        s = student.float().gather(1, s_pos).masked_fill(~valid, float("-inf")) / temperature
        t = teacher.detach().float().gather(1, t_pos).masked_fill(~valid, float("-inf")) / temperature
        log_s, log_t = F.log_softmax(s, dim=-1), F.log_softmax(t, dim=-1)
        kl = (log_t.exp() * (log_t - log_s)).masked_fill(~valid, 0.0).sum(-1)
        total = total + kl[used].mean()
    return total / 2 * temperature ** 2
