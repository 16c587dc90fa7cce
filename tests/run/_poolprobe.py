"""Run as ``python -m tests.run._poolprobe MODE OUT`` (from the checkout's root) by
test_outputpool.py: one organization's outputs written by a real output worker
(``run.outputpool``) in a fresh interpreter, where networkx is not imported yet, as in
``orgscan scan`` over several organizations. Prints one JSON object.

- ``threads``: which modules the run's process imports, and on which thread, while the
  worker's outcome is handed back and collected.
- ``race``: the run writes another organization's outputs itself (as ``multiorg._write_all``
  does) while the worker's outcome arrives. The main thread stops inside its first import of
  networkx (the package partly initialized) until the pool's thread imports it too, or until
  the worker's future is done: the moment the run failed at under load.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from importlib.abc import Loader
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType
from typing import Any

imported: list[tuple[str, str]] = []  # (module, thread name), in order
pool_thread_imports = threading.Event()
future: Future[Any] | None = None  # the worker's, once submitted


class _Watch:
    """A finder that records each import and, in ``race``, holds the main thread's first import
    of a networkx submodule while it executes (``networkx`` itself then partly initialized, its
    module lock held; a finder must not wait: it runs under the global import lock)."""

    def __init__(self, hold: bool) -> None:
        self.hold = hold

    def find_spec(self, name: str, path: Any = None, target: ModuleType | None = None
                  ) -> ModuleSpec | None:
        main = threading.current_thread() is threading.main_thread()
        imported.append((name, threading.current_thread().name))
        if not main and name.startswith("networkx"):
            pool_thread_imports.set()
        if not (self.hold and main and name.startswith("networkx.") and future is not None):
            return None
        self.hold = False
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Held(spec.loader)
        return spec


class _Held(Loader):
    """Executes the module once the pool's thread imports networkx too (or the worker's
    future is done: nothing of it is imported there)."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        assert future is not None
        deadline = time.monotonic() + 120
        while (not pool_thread_imports.is_set() and not future.done()
               and time.monotonic() < deadline):
            time.sleep(0.01)
        if pool_thread_imports.is_set():
            time.sleep(0.5)  # the pool's thread is well inside its own import by now
        self.loader.exec_module(module)


def main(mode: str, out: Path) -> None:
    watch = _Watch(hold=mode == "race")
    sys.meta_path.insert(0, watch)
    from scanner.run.config import load_config
    from scanner.run.interrupts import Stop
    from scanner.run.outputpool import OutputPool, collect, finish_named
    from scanner.run.runner import RunOptions
    from tests.report._demo import ROOT, account, account_result, make_result

    global future
    result = make_result([account_result(account("123456789012", "a", ROOT), [],
                                         used="absent")])
    config = replace(load_config(None, out=str(out / "worker")), formats=("json",))
    opts = RunOptions(quiet=True, bundle=False)
    before = "networkx" in sys.modules
    pool = OutputPool(1)
    pool.start()
    report: dict[str, Any] = {"networkx_imported_before": before}
    try:
        imported.clear()
        future = pool.submit(result, config, opts, [], None)
        if mode == "race":
            try:
                finish_named("other", result, replace(config, output_dir=str(out / "run")),
                             opts, [], None, Stop())
                report["run"] = "ok"
            except BaseException as exc:  # what the run would have died of
                report["run"] = f"{type(exc).__name__}: {exc}"
        try:
            outcome, _ = collect("worker", future)
            report["collected"] = sorted(Path(p).name for p in outcome.written)
        except BaseException as exc:  # what the run would have died of
            report["collected"] = f"{type(exc).__name__}: {exc}"
    finally:
        pool.close()
    report["off_the_main_thread"] = sorted({name for name, thread in imported
                                            if thread != threading.main_thread().name})
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
