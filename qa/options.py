"""Command-line options and how they become a :class:`qa.config.Config`.

Why: ``qa ask/demo/eval``, ``qa ui`` and the benchmarks share one option vocabulary and one
option-to-Config mapping; keeping them here, apart from the commands, lets the CLI parse ``qa eval``
without importing the evaluation code, and lets evaluation reuse the mapping without importing the CLI.
"""
from __future__ import annotations

import argparse

# the on/off settings (qa.config.SWITCHES), each a --name/--no-name option
SWITCH_HELP = {
    "verifier": "weigh spans by the reader's answerability verifier (default: when the reader has one; "
                "--verifier requires one, --no-verifier never uses it)",
    "answer_types": "drop answers whose figures are of another measure than the question asks for, "
                    "e.g. a count for a sum of money, and answers from a document that never names the year "
                    "asked but states another (default: on)",
    "read_titles": "let the reader read each passage after its document's title, so a report that names "
                   "its subject only in the headline still answers (default: on)",
    "table_cells": "answer a question that names a table row and one of its columns (「2022年营业收入」) with "
                   "the cell where they cross (default: on)",
}


def add_model_options(p: argparse.ArgumentParser, title: str = "models and retrieval") -> None:
    """The model, retrieval and answer-selection options every command that answers questions takes."""
    from qa.config import Config   # the defaults named in the help come from the one place that sets them

    g = p.add_argument_group(title)
    g.add_argument("--encoder", help="sentence-transformers id or path (default: embedded multilingual-e5-small)")
    g.add_argument("--reader", help="HF question-answering id or path (default: the shipped Chinese reader)")
    g.add_argument("--top-k", type=int, help=f"passages given to the reader (default {Config.top_k})")
    g.add_argument("--rank-decay", type=float, metavar="D",
                   help=f"rank a span from the r-th passage by its confidence × D**r, favouring passages retrieval "
                        f"ranked first (default {Config.rank_decay}; 1: by confidence alone)")
    g.add_argument("--mode", choices=["hybrid", "dense", "bm25"], help="retrieval mode (default hybrid)")
    g.add_argument("--query-translation", choices=["off", "bm25", "all"],
                   help="English questions: add the Chinese words of their words for BM25 and the reader "
                        "(bm25, the default), also for the encoder (all), or not at all (off)")
    g.add_argument("--threshold", type=float, help="abstain when the best span scores below this")
    g.add_argument("--chunk-size", type=int, help=f"chunk length in characters (default {Config.chunk_size})")
    g.add_argument("--reader-device", help="where the reader runs: cpu (default), cuda, cuda:N or auto")
    for name, text in SWITCH_HELP.items():
        g.add_argument(f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=None, help=text)


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """Where the index lives: a local directory (--index) or Milvus (--backend milvus --milvus-uri)."""
    g = p.add_argument_group("index backend")
    g.add_argument("--backend", choices=["local", "milvus"],
                   help="local: an index directory (default); milvus: milvus-lite or a Milvus server "
                        "(needs pip install 'zhqa[milvus]')")
    g.add_argument("--milvus-uri", metavar="URI",
                   help="milvus backend: ./x.db (milvus-lite, one process) or http://HOST:19530 (a server); "
                        "a login goes in ZHQA_MILVUS_TOKEN")
    g.add_argument("--milvus-collection", metavar="NAME", help="milvus backend: collection prefix (default zhqa)")


def empty_option_problem(args: argparse.Namespace) -> str | None:
    """The one-line error for a path or name option given as empty text, or None. Why: ``--index "$DIR"``
    with DIR unset would otherwise answer from the bundled sample article, or take the default model."""
    for name in ("index", "encoder", "reader", "reader_device", "milvus_uri", "milvus_collection"):
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            return f"--{name.replace('_', '-')} is empty (an unset variable?)"
    return None


def check_backend(config, args: argparse.Namespace) -> str | None:
    """The one-line error for options that do not fit the chosen backend, or None."""
    if config.backend == "milvus":
        if getattr(args, "index", None):
            return "--index names a local index directory; with --backend milvus give --milvus-uri instead"
        if getattr(args, "corpus", None):
            return "--corpus indexes files in a local cache; with --backend milvus index them with " \
                   "'qa index PATHS --backend milvus --milvus-uri URI' first"
        if not config.milvus_uri:
            return "--backend milvus needs --milvus-uri (./x.db or http://HOST:19530) or ZHQA_MILVUS_URI"
    elif getattr(args, "milvus_uri", None):
        return "--milvus-uri is for --backend milvus (or ZHQA_BACKEND=milvus)"
    elif getattr(args, "milvus_collection", None):
        return "--milvus-collection is for --backend milvus (or ZHQA_BACKEND=milvus)"
    elif getattr(args, "command", None) in ("ask", "ui"):   # eval reads its set's paragraphs, demo the article
        from qa.config import local_backend_problem

        return local_backend_problem(config, getattr(args, "index", None), getattr(args, "corpus", None))
    return None


def config_from_args(args: argparse.Namespace):
    """Options, then ZHQA_* variables; an existing index's own encoder unless another is asked for."""
    import os

    from index.store import index_encoder_name
    from qa.config import SWITCHES, Config

    encoder = getattr(args, "encoder", None)
    if not encoder and not os.environ.get("ZHQA_ENCODER") and getattr(args, "index", None):
        encoder = index_encoder_name(args.index)
    uri = getattr(args, "milvus_uri", None) or os.environ.get("ZHQA_MILVUS_URI")
    backend = getattr(args, "backend", None) or os.environ.get("ZHQA_BACKEND")
    if not encoder and not os.environ.get("ZHQA_ENCODER") and backend == "milvus" and uri:
        # a command asks for its config several times; the Milvus peek (a connection) is made once
        encoder = getattr(args, "_milvus_index_encoder", None)
        if encoder is None:
            from index.store.milvus import DEFAULT_COLLECTION, milvus_encoder_name

            encoder = milvus_encoder_name(uri, getattr(args, "milvus_collection", None)
                                          or os.environ.get("ZHQA_MILVUS_COLLECTION") or DEFAULT_COLLECTION)
            if encoder is not None:
                args._milvus_index_encoder = encoder
    return Config.from_env(backend=getattr(args, "backend", None), milvus_uri=getattr(args, "milvus_uri", None),
                           milvus_collection=getattr(args, "milvus_collection", None),
                           encoder=encoder, reader=getattr(args, "reader", None),
                           top_k=getattr(args, "top_k", None), rank_decay=getattr(args, "rank_decay", None),
                           mode=getattr(args, "mode", None),
                           query_translation=getattr(args, "query_translation", None),
                           threshold=getattr(args, "threshold", None), chunk_size=getattr(args, "chunk_size", None),
                           faiss=getattr(args, "faiss", None), reader_device=getattr(args, "reader_device", None),
                           **{name: getattr(args, name, None) for name in SWITCHES})


def add_eval_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register the ``eval`` options (positional ``dataset``) on ``parser``."""
    parser.add_argument("dataset", help="question set: SQuAD-style JSON (CMRC2018, DRCD) or JSON lines "
                                        '{"id", "question", "answers": [...]} ([] = not answerable)')
    src = parser.add_argument_group("corpus")
    src.add_argument("--corpus", nargs="+", metavar="PATH",
                     help="files/folders to answer from, after the dataset (default: a SQuAD set's own paragraphs, "
                          "else the bundled sample article)")
    src.add_argument("--index", metavar="DIR", help="answer from a saved index instead")
    src.add_argument("--reader-only", action="store_true",
                     help="give each question its gold paragraph and skip retrieval (SQuAD-style sets)")
    run = parser.add_argument_group("run")
    run.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N questions")
    run.add_argument("--strict", action="store_true",
                     help="stop at the first bad row (empty question, duplicate id, ...) instead of skipping it")
    run.add_argument("--no-abstain", action="store_true",
                     help="always take the best span (the summary reports both figures anyway)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    out = parser.add_argument_group("output")
    out.add_argument("--predictions", metavar="FILE",
                     help="write {id: answer} JSON (official format; \"\" = abstained)")
    out.add_argument("--details", metavar="FILE", help="write one JSON line per question")
    out.add_argument("--report", metavar="DIR", help="write an HTML report with plots to DIR/index.html")
    out.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    add_model_options(parser, "configuration (defaults: ZHQA_* environment variables, then built-ins)")
    return parser
