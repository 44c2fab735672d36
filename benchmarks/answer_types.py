"""The answer-type rules' cost: how many gold answers of SQuAD-style sets they would reject.

Why: the measure rule (qa/reader/answer_type.py) removes spans whose figures are of another measure than
the question asks for, and the time rule (qa/reader/time_agreement.py) spans read from a text that never
names the year asked and states another; every gold answer they reject is a right answer the bot would
lose (the time rule is judged with the question's own paragraph as its document). They need no model,
so this runs in seconds over whole sets.

    python benchmarks/answer_types.py                       # CMRC2018 dev + train, DRCD dev
    python benchmarks/answer_types.py my_set.json --examples 30
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_SETS = [SHARED / "data/cmrc2018/cmrc2018_dev.json", SHARED / "data/cmrc2018/cmrc2018_train.json",
                SHARED / "data/drcd/DRCD_dev.json"]


@dataclass
class RuleCost:
    """Questions in a set, those with an expected measure, and those whose every gold answer is rejected;
    those naming a year, and the answerable ones whose paragraph the time rule says is about other years."""

    questions: int = 0
    typed: int = 0
    rejected: int = 0
    examples: list[str] = field(default_factory=list)
    dated: int = 0
    other_years: int = 0


def rule_cost(path: str | Path, examples: int = 12) -> RuleCost:
    from qa.reader.answer_type import agrees, expected_measure
    from qa.reader.time_agreement import about_other_years, asked_years

    cost = RuleCost()
    for article in json.loads(Path(path).read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                cost.questions += 1
                years = asked_years(qa["question"])
                cost.dated += bool(years)
                if qa.get("answers") and not qa.get("is_impossible") and about_other_years(years, para["context"]):
                    cost.other_years += 1
                    if len(cost.examples) < examples:
                        cost.examples.append(f"    {qa['question']} [other years] gold {qa['answers'][0]['text']!r}")
                expected = expected_measure(qa["question"])
                if expected is None:
                    continue
                cost.typed += 1
                golds = [a["text"] for a in qa["answers"]]
                if golds and not any(agrees(expected, g) for g in golds):
                    cost.rejected += 1
                    if len(cost.examples) < examples:
                        cost.examples.append(f"    {qa['question']} [{expected.value}] gold {golds[0]!r}")
    return cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help="SQuAD-style JSON files (default: the shared CMRC2018 and DRCD sets)")
    parser.add_argument("--examples", type=int, default=12, help="rejected questions to show per set")
    args = parser.parse_args(argv)
    paths = args.sets or [p for p in DEFAULT_SETS if p.exists()]
    if not paths:
        print("no question sets given and none found in ../shared/data", file=sys.stderr)
        return 2
    print(f"{'set':<24} {'questions':>9} {'typed':>6} {'rejected':>8} {'of all':>7} {'dated':>6} {'other years':>11}")
    for path in paths:
        try:
            cost = rule_cost(path, args.examples)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"{path}: not a readable SQuAD-style set ({exc})", file=sys.stderr)
            return 2
        print(f"{Path(path).name:<24} {cost.questions:>9} {cost.typed:>6} {cost.rejected:>8} "
              f"{cost.rejected / max(cost.questions, 1):>7.2%} {cost.dated:>6} {cost.other_years:>11}")
        for line in cost.examples:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
