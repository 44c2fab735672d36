"""Would an ensemble of readers answer better than one? Start and end logits averaged over readers.

Why: averaging fine-tuned models' logits usually beats each one when they err differently; if it does,
distilling the ensemble into one reader is worth a training run, and if not, it is not. Each reader's
logits for a batch of windows are computed once and reused by every combination, so a combination
costs only its decoding (the cache holds every window's logits: meant for a few thousand questions).
Everything after ``--`` goes to ``benchmarks/eval_sets.py`` (sets, --limit ...); run it with
``--no-abstain``, since the first reader's threshold means little for an average.

    python benchmarks/reader_ensemble.py --reader v3=embedded --reader v2=runs/v2w \\
        --combos v3,v2+v3 -- ../shared/data/xquad/xquad_zh_a.json --limit 400 --no-abstain
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


class LogitAverage(torch.nn.Module):
    """Readers' span logits, each computed once per batch of windows, averaged over ``combo``."""

    def __init__(self, models: dict[str, torch.nn.Module]):
        super().__init__()
        self.names = list(models)
        self.models = torch.nn.ModuleList(models.values())
        self.combo = list(self.names)
        self._cache: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_):
        from index.bert import SpanLogits

        key = hashlib.sha1(repr(tuple(input_ids.shape)).encode() + input_ids.cpu().numpy().tobytes()
                           + attention_mask.cpu().numpy().tobytes()).hexdigest()
        if key not in self._cache:
            outs = {n: m(input_ids=input_ids, attention_mask=attention_mask) for n, m in zip(self.names, self.models)}
            self._cache[key] = {n: (o.start_logits.float(), o.end_logits.float()) for n, o in outs.items()}
        got = self._cache[key]
        return SpanLogits(sum(got[n][0] for n in self.combo) / len(self.combo),
                          sum(got[n][1] for n in self.combo) / len(self.combo))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, rest = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reader", action="append", required=True, metavar="NAME=PATH",
                    help="a reader and its name (PATH 'embedded' = the shipped one); repeatable")
    ap.add_argument("--combos", required=True, help="comma-separated, each NAME+NAME...: e.g. v3,v2+v3")
    ap.add_argument("--dtype", default="auto", help="reader dtype (auto, float32, bfloat16)")
    args = ap.parse_args(own)
    import eval_sets
    import qa.evaluation.runner as runner
    from qa.reader.extractive import ExtractiveReader

    if any("=" not in spec for spec in args.reader):
        print("error: --reader takes NAME=PATH (e.g. v3=embedded)", file=sys.stderr)
        return 2
    paths = dict(spec.split("=", 1) for spec in args.reader)
    if len(paths) < len(args.reader):
        print("error: two --reader options have the same name", file=sys.stderr)
        return 2
    combos = [c.split("+") for c in args.combos.split(",")]
    used = {n for c in combos for n in c}
    unknown = sorted(used - set(paths))
    if unknown:
        print(f"error: --combos names readers not given with --reader: {', '.join(unknown)}", file=sys.stderr)
        return 2
    paths = {n: p for n, p in paths.items() if n in used}
    if "--no-abstain" not in rest:
        print("warning: without --no-abstain the figures with abstention use the first reader's threshold",
              file=sys.stderr)
    readers = {n: ExtractiveReader(None if p == "embedded" else p, dtype=args.dtype) for n, p in paths.items()}
    base = next(iter(readers.values()))
    average = LogitAverage({n: r.model for n, r in readers.items()})
    base.model = average
    runner.make_reader = lambda config: base   # eval_sets.py evaluates the averaged reader
    for combo in combos:
        average.combo = combo
        print(f"##### {'+'.join(combo)}", flush=True)
        rc = eval_sets.main(rest + ["--no-progress"])
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
