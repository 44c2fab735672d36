"""``qa index``: add, update, remove and prune documents of a local or Milvus index, and list them.

Why its own module: reading files, waiting for the index's lock, reading again what changed meanwhile,
replacing earlier versions and saying what changed only once saved is most of the command line's work;
``qa.cli`` only dispatches to it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from qa.messages import skipped_lines
from qa.options import config_from_args


def run_index(args) -> int:
    """Hold the index's write lock while reading what is there and saving what changed."""
    from index.ingest import read_paths
    from index.store.local import check_index_target, recover_index_dir
    from index.store.locking import index_write_lock

    config = config_from_args(args)   # a bad option fails before waiting for the lock
    if config.backend == "local" and not args.index:
        print("error: give --index DIR (a local index), or --backend milvus --milvus-uri URI", file=sys.stderr)
        return 2
    if config.backend == "local":
        check_index_target(Path(args.index))   # before minutes of reading: a folder of documents is no index
    if args.prune and not any(_is_folder(p) for p in args.paths):
        named = f" ({', '.join(args.paths)}: not a folder here)" if args.paths else ""
        print("error: --prune removes what was indexed from a folder whose files are gone: give that folder"
              + named, file=sys.stderr)
        return 2
    ingest = None
    if args.paths:  # read (and OCR) before taking the lock: that can take minutes
        ingest = read_paths(args.paths, keep_all_html=args.html_keep_all, progress=True)
        for line in skipped_lines(ingest.skipped):
            print(line, file=sys.stderr)
        for s in ingest.notes:
            print(f"note: {s.source}: {s.reason}", file=sys.stderr)
    if config.backend == "milvus":
        return _index_milvus(args, config, ingest)
    target = Path(args.index).expanduser()
    if not (args.paths or args.remove or args.prune):   # listing only reads: no write lock (its folder may be read-only)
        return _list_index(args, target)
    with index_write_lock(target, wait=not args.no_wait,
                          on_wait=lambda: print(f"waiting for another process writing {target} ...",
                                                file=sys.stderr, flush=True)):
        recover_index_dir(target)   # a save killed between its renames is undone first
        return _index_locked(args, config, target, ingest)


def _list_index(args, target: Path) -> int:
    from index.store.local import MANIFEST, _readable_dir
    from index.store.update import IndexUpdate

    if not (_readable_dir(target) / MANIFEST).exists():   # a damaged index is named by the open below
        print(f"error: {target} is not an index yet; give files or folders to index", file=sys.stderr)
        return 2
    _print_index(args, IndexUpdate.open(target), str(target))
    return 0


def _read_again_if_changed(args, ingest):
    """What was read before the lock, with the files that changed since (another writer may have indexed
    their newer version meanwhile) read again: an older read never replaces a newer version."""
    from index.ingest import IngestResult, read_paths

    changed = ingest.changed_since_read() if ingest is not None else []
    if not changed:
        return ingest
    print(f"note: {len(changed)} file(s) changed while waiting for the index; read again", file=sys.stderr)
    again = read_paths(changed, keep_all_html=args.html_keep_all)
    for line in skipped_lines(again.skipped):
        print(line, file=sys.stderr)
    for s in again.notes:
        print(f"note: {s.source}: {s.reason}", file=sys.stderr)
    names = {str(p) for p in changed}
    return IngestResult([d for d in ingest.documents if d.source not in names] + again.documents,
                        [s for s in ingest.skipped if s.source not in names] + again.skipped,
                        [s for s in ingest.notes if s.source not in names] + again.notes,
                        {**ingest.stamps, **again.stamps})


def _index_locked(args, config, target: Path, ingest) -> int:
    from index.embed import get_encoder
    from index.store import IndexStore
    from index.store.update import IndexUpdate

    if (target / "manifest.json").exists():
        if (args.remove or args.paths) and not os.access(target, os.W_OK):   # before minutes of embedding,
            # and before anything says "removed"; listing a read-only index is fine
            print(f"error: {target}: Permission denied (the index folder is not writable)", file=sys.stderr)
            return 2
        store = IndexUpdate.open(target)   # the document list only: new documents go in a new segment
        encoder = get_encoder(store.encoder_name)
        if args.encoder and args.encoder != store.encoder_name:
            print(f"error: {target} uses encoder '{store.encoder_name}'; rebuild it in a new directory "
                  "to change the encoder", file=sys.stderr)
            return 2
        if args.chunk_size and args.chunk_size != store.chunk_size:
            print(f"note: {target} keeps its chunk size {store.chunk_size}; --chunk-size applies to new indexes",
                  file=sys.stderr)
        kept_faiss = "auto" if store.faiss_auto else store.faiss_kind
        if args.faiss and args.faiss != kept_faiss:
            print(f"note: {target} keeps its FAISS index ({kept_faiss}); --faiss applies to new indexes",
                  file=sys.stderr)
    else:
        if not args.paths:
            print(f"error: {target} is not an index yet; give files or folders to index", file=sys.stderr)
            return 2
        encoder = get_encoder(config.encoder)
        store = IndexStore(config.encoder, encoder.info.dimension, config.chunk_size, config.chunk_overlap,
                           config.faiss)
    ingest = _read_again_if_changed(args, ingest)   # after the refusals above: no file is read again for nothing
    applied = _apply_changes(args, store, encoder, ingest)
    if applied is None:
        return 2
    if applied.changed or not (target / "manifest.json").exists():
        store.save(target)
    applied.report()   # only once saved: a save that fails (a full disk) has removed and added nothing
    _print_index(args, store, str(target))
    return applied.status


def _index_milvus(args, config, ingest) -> int:
    """Milvus writes as it goes, each document switched in whole (index/store/milvus.py): no lock file."""
    from index.embed import get_encoder
    from index.store.milvus import MilvusStore

    if ingest is not None and not ingest.documents and not args.remove:
        print("error: nothing to index", file=sys.stderr)   # and no empty index made
        return 2
    encoder = get_encoder(config.encoder)
    store = MilvusStore.open(config.milvus_uri, config.milvus_collection, config.encoder, encoder.info.dimension,
                             create=bool(ingest and ingest.documents), chunk_size=config.chunk_size,
                             chunk_overlap=config.chunk_overlap)
    if args.chunk_size and args.chunk_size != store.chunk_size:
        print(f"note: {config.milvus_uri} keeps its chunk size {store.chunk_size}; --chunk-size applies to new "
              "indexes", file=sys.stderr)
    try:
        applied = _apply_changes(args, store, encoder, ingest, say_now=True)
        if applied is None:
            return 2
        store.save()
        _print_index(args, store, f"{config.milvus_uri} (Milvus, collection {config.milvus_collection})")
    finally:
        store.close()
    return applied.status


def _is_folder(path: str) -> bool:
    """A folder here; False for a path that cannot be looked at (a name too long), which reading names."""
    try:
        return Path(path).expanduser().is_dir()
    except (OSError, ValueError):
        return False


@dataclass
class AppliedChanges:
    """What ``qa index`` removed and added. A local index says it only once saved (a save that fails, on a
    full disk, has removed and added nothing); Milvus writes as it goes, so it is said at once (``say_now``)."""
    say_now: bool = False
    changed: bool = False
    lines: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # --remove ids the index does not hold

    @property
    def status(self) -> int:
        """1 when an id to remove was not found (as ``rm`` of a missing file), else 0."""
        return 1 if self.missing else 0

    def say(self, line: str) -> None:
        if self.say_now:
            print(line)
        else:
            self.lines.append(line)

    def report(self) -> None:
        for line in self.lines:
            print(line)
        self.lines.clear()


def _gone(args, store, ingest) -> list:
    """The indexed documents whose files are gone from the folders given, only inside folders that still
    gave a document (an emptied folder, a drive not mounted, has lost nothing)."""
    from index.store.versions import path_identity, vanished

    read = [Path(path_identity(d.source)) for d in (ingest.documents if ingest else [])]
    folders = [f for f in (Path(path_identity(os.fspath(Path(p).expanduser()))) for p in args.paths if _is_folder(p))
               if any(r.is_relative_to(f) for r in read)]
    return vanished(store.document_infos(), folders) if folders else []


def _apply_changes(args, store, encoder, ingest, say_now: bool = False) -> AppliedChanges | None:
    """Remove, then add what was read; None when there was nothing to index."""
    applied = AppliedChanges(say_now)
    if args.remove:
        asked = list(dict.fromkeys(args.remove))
        applied.missing = [d for d in asked if d not in store.documents]
        n = store.remove_documents(asked)
        from index.documents import shown_name

        applied.say(f"removed {n} document(s)")
        if applied.missing:
            print(f"error: not in the index: {', '.join(shown_name(m) for m in applied.missing)}", file=sys.stderr)
        applied.changed = n > 0
    gone = _gone(args, store, ingest)
    if getattr(args, "prune", False):
        n = store.remove_documents([i.id for i in gone]) if gone else 0
        applied.say(f"pruned {n} document(s) whose file is gone")
        applied.changed = applied.changed or n > 0
    elif gone:   # kept, as documented; said, so that the counts below add up
        applied.say(f"kept {len(gone)} document(s) whose file is gone from the folder (--prune removes them)")
    if ingest is not None:
        if not ingest.documents and not args.remove:
            print("error: nothing to index", file=sys.stderr)
            return None
        from index.store.versions import earlier_versions, path_identity

        # a file indexed again replaces what it gave before (index/store/versions.py)
        source_of = {d.id: path_identity(d.source) for d in ingest.documents}
        stale = earlier_versions(store.document_infos(), ingest.documents)
        report = store.add_documents(ingest.documents, encoder, progress=True)
        if stale:
            store.remove_documents([i.id for i in stale])
        stale_sources = {path_identity(i.source) for i in stale}
        moved = [d for d in report.added if source_of.get(d) in stale_sources]
        applied.say(f"added {len(report.added) - len(moved)}, updated {len(report.replaced) + len(moved)}, "
                    f"unchanged {len(report.unchanged)} document(s); {report.chunks} new chunk(s)"
                    + (f"; {len(stale)} earlier version(s) removed" if stale else ""))
        applied.changed = applied.changed or bool(report.added or report.replaced or stale)
    return applied


def _print_index(args, store, where: str) -> None:
    chunks = store.chunk_count if hasattr(store, "chunk_count") else len(store.chunks)
    print(f"index {where}: {len(store.documents)} document(s), {chunks} chunk(s), "
          f"encoder {store.encoder_name}")
    if args.list:
        from index.documents import shown_name

        for info in store.document_infos():   # a name with a newline, tab or escape must not split or colour the row
            print("\t".join(shown_name(v) for v in (info.id, info.title, info.source)))
