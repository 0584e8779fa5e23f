#!/usr/bin/python3
"""Execute a Jupyter notebook headlessly without losing late outputs.

Usage:
    nbexec.py INPUT.ipynb OUTPUT.ipynb [--kernel deno] [--timeout 1800]
              [--cwd DIR] [--quiet-window 0.3]

Built on nbclient (Jupyter's own executor). Deno 2.9's kernel sometimes
publishes ``status: idle`` on IOPub before the cell's outputs; stock nbclient
stops listening at ``idle``, so those outputs are dropped (or, worse, read
while the next cell runs and discarded) and the run still exits 0. This
executor keeps reading IOPub after a cell's ``idle`` until the channel has
been quiet for ``--quiet-window`` seconds, and attaches every output to the
cell whose execute request is its parent (by parent msg id), even if it
arrives while a later cell runs.

Exit status: 0 on success; 1 if a cell raised, timed out or the kernel died
(the message names the cell index and the error; the partially executed
notebook is still written to OUTPUT); 2 on bad arguments.

On success, the last line on stdout is ``nbexec-summary {json}`` with the
number of code cells executed and the wall time. Progress (one line per code
cell: index and seconds) goes to stderr.

Needs Debian's python3-nbclient, python3-nbformat, python3-jupyter-client:
run it with /usr/bin/python3.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from queue import Empty

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import (
        CellExecutionComplete,
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
    )
    from nbclient.util import ensure_async
    from traitlets import Float
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"nbexec: missing Python module ({exc}). Install the Debian packages: "
        "apt-get install -y --no-install-recommends "
        "python3-nbclient python3-nbformat python3-jupyter-client\n"
    )
    sys.exit(3)

SUMMARY_PREFIX = "nbexec-summary "


class QuietWindowClient(NotebookClient):
    """A NotebookClient that waits for IOPub to go quiet after ``idle``.

    Overrides ``_async_poll_output_msg`` (the coroutine nbclient runs per cell
    to collect IOPub messages, which stock nbclient ends at the first
    ``status: idle``) and ``async_execute_cell`` (for progress lines and to
    remember which cell failed).
    """

    quiet_window = Float(
        0.3,
        help="Seconds IOPub must stay silent after a cell's idle status before "
        "the cell is considered complete.",
    ).tag(config=True)

    def __init__(self, nb, km=None, **kw):
        super().__init__(nb, km=km, **kw)
        # Execute-request msg id -> index of the cell it ran.
        self._cell_index_by_msg_id = {}
        self.current_cell_index = None
        self.late_outputs = 0

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        assert self.kc is not None
        self._cell_index_by_msg_id[parent_msg_id] = cell_index
        idle_seen = False
        while True:
            try:
                msg = await ensure_async(
                    self.kc.iopub_channel.get_msg(
                        timeout=self.quiet_window if idle_seen else None
                    )
                )
            except Empty:
                # Quiet for a whole window after idle: the cell is complete.
                return
            parent = msg["parent_header"].get("msg_id")
            if parent == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    idle_seen = True
            elif parent in self._cell_index_by_msg_id:
                self._attach_late(msg, self._cell_index_by_msg_id[parent])

    def _attach_late(self, msg, cell_index):
        """Attach an output that arrived after its cell was finished."""
        if msg["msg_type"] == "status":
            return
        self.late_outputs += 1
        sys.stderr.write(
            f"nbexec: late {msg['msg_type']} for cell {cell_index} attached to that cell\n"
        )
        try:
            self.process_message(msg, self.nb.cells[cell_index], cell_index)
        except CellExecutionComplete:
            pass

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self.current_cell_index = cell_index
        is_code = cell.cell_type == "code" and cell.source.strip()
        start = time.monotonic()
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count=execution_count, store_history=store_history
            )
        finally:
            if is_code:
                sys.stderr.write(
                    f"nbexec: cell {cell_index} {time.monotonic() - start:.2f} s\n"
                )
                sys.stderr.flush()


def _die_with_parent():
    """Runs in the kernel's child process before exec: ask Linux to SIGTERM the kernel when
    this executor dies, so a killed executor never leaves an orphaned kernel behind (the
    kernel runs in its own session, so it would not get the executor's signals)."""
    try:
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except Exception:  # not Linux, or no libc symbol: nbclient still shuts it down normally
        pass


def _write_notebook(nb, path):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)


def _first_line(text):
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="notebook to execute (never modified)")
    parser.add_argument("output", help="where to write the executed notebook")
    parser.add_argument("--kernel", default="deno", help="kernel name (default: deno)")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="per-cell timeout in seconds (default 1800)"
    )
    parser.add_argument(
        "--cwd", default=None, help="kernel working folder (default: the input's folder)"
    )
    parser.add_argument(
        "--quiet-window",
        type=float,
        default=0.3,
        help="seconds of IOPub silence after idle that end a cell (default 0.3)",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=120, help="kernel start timeout in seconds"
    )
    args = parser.parse_args(argv)

    if not os.path.isfile(args.input):
        sys.stderr.write(f"nbexec: expected an input notebook but found no file at {args.input}\n")
        return 2
    if os.path.realpath(args.input) == os.path.realpath(args.output):
        sys.stderr.write(
            f"nbexec: the output must differ from the input but both are {args.input}\n"
        )
        return 2
    if args.quiet_window < 0 or args.timeout <= 0:
        sys.stderr.write(
            "nbexec: expected --timeout > 0 and --quiet-window >= 0 but found "
            f"{args.timeout} and {args.quiet_window}\n"
        )
        return 2
    cwd = os.path.abspath(args.cwd or os.path.dirname(os.path.abspath(args.input)))
    if not os.path.isdir(cwd):
        sys.stderr.write(f"nbexec: expected --cwd to be a folder but found {cwd}\n")
        return 2
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)

    nb = nbformat.read(args.input, as_version=4)
    client = QuietWindowClient(
        nb,
        kernel_name=args.kernel,
        timeout=int(args.timeout) if args.timeout >= 1 else 1,
        startup_timeout=int(args.startup_timeout),
        quiet_window=args.quiet_window,
        resources={"metadata": {"path": cwd}},
    )
    start = time.monotonic()
    failure = None
    try:
        client.execute(cwd=cwd, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    except CellExecutionError as exc:
        failure = (
            f"cell {client.current_cell_index} raised {exc.ename}: {_first_line(exc.evalue)}"
        )
    except CellTimeoutError:
        failure = f"cell {client.current_cell_index} timed out after {args.timeout:g} s"
    except DeadKernelError:
        failure = f"the kernel died while running cell {client.current_cell_index}"
    except (asyncio.CancelledError, KeyboardInterrupt):
        failure = f"interrupted while running cell {client.current_cell_index}"
    except Exception as exc:  # kernel start failures, bad kernel name, ...
        failure = f"execution stopped at cell {client.current_cell_index}: {type(exc).__name__}: {exc}"
    seconds = time.monotonic() - start
    _write_notebook(client.nb, args.output)
    if failure is not None:
        sys.stderr.write(f"nbexec: FAILED: {failure}\n")
        sys.stderr.write(f"nbexec: partially executed notebook written to {args.output}\n")
        return 1
    summary = {
        "cells": client.code_cells_executed,
        "seconds": round(seconds, 3),
        "late_outputs": client.late_outputs,
    }
    sys.stdout.write(SUMMARY_PREFIX + json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
