"""Where a sweep's runs execute: local worker processes, or Ray (local, or a running cluster).

Both backends take runs one at a time (``submit``), report finished ones (``wait``) and stop
cleanly (``stop``: every running run saves its state and ends between two steps; ``kill``: end
now). The sweep loop (``run_sweep``) is the same for both.

**Local** (the default): one worker process per core (``threads.available_cores``), each a
``python`` that imports torch once and trains one run after another on one torch thread
(``OMP_NUM_THREADS=1``: a 2D run is hundreds of small operations that only wait for each other on
more threads; ``engine/threads.py``). Messages are the compare workers' length-prefixed pickles
(``population._send``/``_recv``). A worker writes its run folder itself; Ctrl-C reaches the
workers too (same process group) and makes each save and stop; a second Ctrl-C kills them.

**Ray** (``pip install "ganplay[cluster]"``): each run is a Ray task of 1 CPU. On a cluster the
nodes need not share a disk: a task trains in a temporary folder on its node, and the run
folder's files travel back to the driver, which writes them into the sweep folder (an unfinished
run's files travel out, so a resumed run continues its checkpoint wherever it lands). With GPUs
in the cluster, a 2D run asks for :data:`GPU_SHARE_2D` of one (several small MLPs share a GPU)
and an image run for a whole one (:func:`ray_resources`).
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from .sweep import (SAVE_EVERY_S, Progress, SweepError, SweepRun, execute_run, failed_result, finished, write_plan,
                    write_result)

# A 2D MLP run uses a sliver of a GPU: four share one (Ray's fractional GPU resources schedule
# them); an image run (DCGAN) takes a whole GPU.
GPU_SHARE_2D = 0.25
RAY_INSTALL = ('Ray is not installed: install the cluster extra with  pip install "ganplay[cluster]"  '
               '(or  pip install "ray>=2.9"), or use the local backend (the default)')


class Backend:
    """The interface the sweep loop uses."""
    name = "backend"
    slots = 1           # runs it trains at once

    def submit(self, run: SweepRun) -> None:
        raise NotImplementedError

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        """Results of the runs finished since the last call (waits up to ``timeout`` for one)."""
        raise NotImplementedError

    @property
    def running(self) -> int:
        raise NotImplementedError

    def stop(self) -> None:
        """Ask every running run to save its state and end between two steps."""

    def kill(self) -> None:
        """End every run now (their last periodic save stays)."""

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------- local worker processes
class LocalBackend(Backend):
    name = "local"

    def __init__(self, sweep_dir: Path, workers: int | None = None, save_every: float = SAVE_EVERY_S):
        from .threads import available_cores

        self.sweep_dir = Path(sweep_dir)
        self.save_every = save_every
        self.slots = max(1, workers if workers else available_cores())
        self._procs: list[subprocess.Popen | None] = [None] * self.slots
        self._busy: dict[int, tuple[SweepRun, float]] = {}
        self._results: queue.Queue = queue.Queue()
        self._readers: list[threading.Thread] = []
        self._stopping = False

    @property
    def running(self) -> int:
        return len(self._busy)

    def _start(self, w: int) -> subprocess.Popen:
        from .population import _send

        env = dict(os.environ)
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env["OMP_NUM_THREADS"] = "1"
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        p = subprocess.Popen(
            [sys.executable, "-c", "from ganplay.engine.sweep_backends import _local_worker; _local_worker()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        _send(p.stdin, {"sweep_dir": str(self.sweep_dir), "save_every": self.save_every})
        t = threading.Thread(target=self._read, args=(w, p), daemon=True)
        t.start()
        self._readers.append(t)
        self._procs[w] = p
        return p

    def _read(self, w: int, p: subprocess.Popen) -> None:
        from .population import _recv

        while True:
            try:
                msg = _recv(p.stdout)
            except (EOFError, OSError, ValueError):
                self._results.put((w, p, None))   # the worker ended
                return
            self._results.put((w, p, msg))

    def submit(self, run: SweepRun) -> None:
        from .population import _send

        free = [w for w in range(self.slots) if w not in self._busy]
        if not free:
            raise RuntimeError("no free worker")
        w = free[0]
        p = self._procs[w]
        if p is None or p.poll() is not None:
            p = self._start(w)
        self._busy[w] = (run, time.perf_counter())
        try:
            _send(p.stdin, ("run", run))
        except (OSError, ValueError):
            pass   # the reader reports the dead worker

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        out = []
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            try:
                w, p, msg = self._results.get(timeout=max(0.0, left)) if not out else self._results.get_nowait()
            except queue.Empty:
                return out
            if p is not self._procs[w]:
                continue   # a message from a worker already replaced
            if msg is None:   # the worker died: its run failed (unless it was being stopped)
                self._procs[w] = None
                if w in self._busy:
                    run, t0 = self._busy.pop(w)
                    code = p.poll()
                    why = (f"the worker process ended (exit code {code}) while training this run"
                           if not self._stopping else "stopped before it could save")
                    res = failed_result(run, why, time.perf_counter() - t0)
                    if self._stopping:
                        res["status"] = "interrupted"
                    else:
                        write_result(self.sweep_dir / run.run_id, res)
                    out.append(res)
                continue
            kind, res = msg
            if kind == "result" and w in self._busy:
                self._busy.pop(w)
                out.append(res)

    def stop(self) -> None:
        """Each worker's SIGINT handler makes its run save and stop (the terminal's Ctrl-C
        reaches them too; this covers a sweep stopped another way)."""
        self._stopping = True
        for p in self._procs:
            if p is not None and p.poll() is None:
                try:
                    p.send_signal(signal.SIGINT)
                except OSError:
                    pass

    def kill(self) -> None:
        self._stopping = True
        for p in self._procs:
            if p is not None and p.poll() is None:
                p.kill()

    def close(self) -> None:
        from .population import _send

        for p in self._procs:
            if p is None:
                continue
            try:
                _send(p.stdin, ("close", None))
                p.stdin.close()
            except (OSError, ValueError):
                pass
        for p in self._procs:
            if p is None:
                continue
            try:
                p.wait(10.0)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        self._procs = [None] * self.slots


def _local_worker() -> None:
    """A local sweep worker: trains the runs it is sent, one at a time, into the sweep folder."""
    from .population import _recv, _send, worker_pipes

    stop = threading.Event()
    # Ctrl-C (from the terminal's process group or from the parent): save the run and stop
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    inp, out = worker_pipes()
    try:
        init = _recv(inp)
    except EOFError:
        return
    sweep_dir = Path(init["sweep_dir"])
    import torch

    torch.set_num_threads(1)
    while True:
        try:
            kind, run = _recv(inp)
        except EOFError:
            return
        if kind != "run":
            return
        res = execute_run(run, sweep_dir / run.run_id, stop=stop.is_set, save_every=float(init["save_every"]))
        _send(out, ("result", res))


# ---------------------------------------------------------------------- Ray
def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def ray_resources(run: SweepRun, gpus_in_cluster: float) -> dict[str, float]:
    """Ray resources of one run: 1 CPU; with GPUs in the cluster, a share of one for a 2D run
    (:data:`GPU_SHARE_2D`) and a whole one for an image run. A run set to ``train.device=cpu``
    asks for none."""
    res: dict[str, float] = {"num_cpus": 1}
    if gpus_in_cluster > 0 and run.config["train"]["device"] != "cpu":
        res["num_gpus"] = 1.0 if run.image else GPU_SHARE_2D
    return res


def _read_folder(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _write_folder(d: Path, files: dict[str, bytes]) -> None:
    from .runs import _write_file

    for rel, data in files.items():
        target = (d / rel).resolve()
        if d.resolve() not in target.parents:   # never outside the run folder
            continue
        _write_file(target, data)


def ray_task(run: SweepRun, files: dict[str, bytes],
             save_every: float = SAVE_EVERY_S) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One run as a Ray task: train in a temporary folder on whatever node runs it (starting from
    ``files``, the run folder so far) and return the result and the folder's files."""
    with tempfile.TemporaryDirectory(prefix="ganplay-sweep-") as tmp:
        d = Path(tmp) / run.run_id
        d.mkdir()
        _write_folder(d, files)
        res = execute_run(run, d, save_every=save_every)
        res["node"] = os.uname().nodename if hasattr(os, "uname") else ""
        return res, _read_folder(d)


class RayBackend(Backend):
    name = "ray"

    def __init__(self, sweep_dir: Path, address: str | None = None, workers: int | None = None,
                 save_every: float = SAVE_EVERY_S):
        try:
            import ray
        except ImportError:
            raise SweepError(RAY_INSTALL) from None
        self.ray = ray
        self.sweep_dir = Path(sweep_dir)
        self.save_every = save_every
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": False, "ignore_reinit_error": True}
        if address:
            kw["address"] = address
        elif workers:
            kw["num_cpus"] = workers
        root = str(Path(__file__).resolve().parents[2])
        # the workers import ganplay: this checkout's, when ganplay is not installed on the node
        kw["runtime_env"] = {"env_vars": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
                                          "PYTHONPATH": root + (os.pathsep + os.environ["PYTHONPATH"]
                                                                if os.environ.get("PYTHONPATH") else "")}}
        try:
            ray.init(**kw)
        except ConnectionError as exc:
            raise SweepError(f"cannot reach a Ray cluster at '{address}': {exc}") from None
        res = ray.cluster_resources()
        self.gpus = float(res.get("GPU", 0))
        cpus = int(res.get("CPU", 1))
        self.slots = max(1, min(cpus, workers) if workers else cpus)
        self.nodes = len([n for n in ray.nodes() if n.get("Alive")])
        self._remote = ray.remote(ray_task)
        self._refs: dict[Any, tuple[SweepRun, float]] = {}

    @property
    def running(self) -> int:
        return len(self._refs)

    def submit(self, run: SweepRun) -> None:
        d = self.sweep_dir / run.run_id
        files = _read_folder(d) if d.is_dir() else {}
        files.pop("result.json", None)
        ref = self._remote.options(**ray_resources(run, self.gpus), max_retries=0).remote(run, files, self.save_every)
        self._refs[ref] = (run, time.perf_counter())

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        if not self._refs:
            time.sleep(min(timeout, 0.2))
            return []
        ready, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:   # and whatever else is ready now
            more, _ = self.ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
            ready = list(dict.fromkeys(ready + more))
        out = []
        for ref in ready:
            run, t0 = self._refs.pop(ref)
            try:
                res, files = self.ray.get(ref)
                _write_folder(self.sweep_dir / run.run_id, files)
            except Exception as exc:   # the task or its node died, or it was cancelled
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                res = failed_result(run, f"Ray task failed: {type(exc).__name__}: {why}", time.perf_counter() - t0)
                if "Cancel" in type(exc).__name__:
                    res["status"] = "interrupted"
                else:
                    write_result(self.sweep_dir / run.run_id, res)
            out.append(res)
        return out

    def stop(self) -> None:
        """Cancel the running tasks (on Ray a run stopped part way starts again on resume)."""
        for ref in list(self._refs):
            self.ray.cancel(ref)

    def kill(self) -> None:
        for ref in list(self._refs):
            self.ray.cancel(ref, force=True)

    def close(self) -> None:
        self.ray.shutdown()


def make_backend(kind: str, sweep_dir: Path, workers: int | None = None, address: str | None = None,
                 save_every: float = SAVE_EVERY_S) -> Backend:
    """``local`` (default) or ``ray``; an ``address`` implies Ray. ``save_every``: seconds of
    training between a run's periodic saves (0: only at its end or when stopped)."""
    if address or kind == "ray":
        if not ray_available():
            raise SweepError(RAY_INSTALL)
        return RayBackend(sweep_dir, address=address, workers=workers, save_every=save_every)
    if kind != "local":
        raise SweepError(f"unknown backend '{kind}': choose local or ray")
    return LocalBackend(sweep_dir, workers, save_every)


# ---------------------------------------------------------------------- the sweep loop
def run_sweep(runs: Sequence[SweepRun], sweep_dir: Path, backend: Backend, *,
              on_progress: Callable[[Progress], None] | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None,
              stop: Callable[[], int] | None = None, name: str = "sweep",
              poll_s: float = 1.0) -> tuple[dict[str, dict[str, Any]], bool]:
    """Run every unfinished run of ``runs`` on ``backend``; returns the results by run id (the
    skipped ones' too) and whether the sweep was interrupted.

    ``stop()`` returns how often the user asked to stop: 1 = submit no more runs and let the
    running ones save and end, 2 or more = end them now. Runs already finished in ``sweep_dir``
    (done or diverged) are skipped; failed and interrupted ones run again.
    """
    sweep_dir = Path(sweep_dir)
    write_plan(sweep_dir, runs, name)
    results: dict[str, dict[str, Any]] = {}
    todo: list[SweepRun] = []
    for r in runs:
        res = finished(sweep_dir, r)
        if res is not None:
            results[r.run_id] = res
        else:
            todo.append(r)
    prog = Progress(total=len(runs), skipped=len(results), slots=backend.slots)
    stopped = 0
    pending = list(todo)
    last = 0.0
    while pending or backend.running:
        asked = stop() if stop is not None else 0
        if asked > stopped:
            stopped = asked
            if stopped == 1:
                backend.stop()
            else:
                backend.kill()
        while pending and not stopped and backend.running < backend.slots:
            backend.submit(pending.pop(0))
        prog.running = backend.running
        now = time.perf_counter()
        if on_progress is not None and now - last >= poll_s:
            on_progress(prog)
            last = now
        if not backend.running:
            break
        for res in backend.wait(timeout=poll_s):
            results[res["run_id"]] = res
            prog.finish(res)
            prog.running = backend.running
            if on_result is not None:
                on_result(res)
            if on_progress is not None:
                on_progress(prog)
                last = time.perf_counter()
    prog.running = 0
    if on_progress is not None:
        on_progress(prog)
    interrupted = bool(stopped) and any(r.run_id not in results or results[r.run_id]["status"] == "interrupted"
                                        for r in runs)
    return results, interrupted
