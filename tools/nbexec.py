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

Deno's kernel drops errors that nothing awaits: one thrown in a timer or
callback, a promise rejected with no handler (and then stops running the
event loop until the next request). On a Deno (TypeScript/JavaScript) kernel
this executor records them (a hidden request before the first cell adds
``error`` and ``unhandledrejection`` listeners) and, after each code cell
(after the last one, a moment later), asks the kernel for any recorded: the
first fails the run at that cell, as an error output of the cell.

Exit status: 0 on success; 1 if a cell raised (in its own code or, uncaught,
in a timer, callback or promise), timed out or the kernel died (the message
names the cell index and the error; the partially executed notebook is still
written to OUTPUT); 2 on bad arguments, or when INPUT is not a valid notebook
(one line on stderr, ``INPUT: not a valid notebook: REASON``, and nothing
written).

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
import warnings
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

# Hidden requests to a Deno kernel (see the module docstring). The listeners call
# preventDefault(), which also keeps the kernel's event loop running after such an error.
_UNCAUGHT_KEY = 'Symbol.for("gradprom.nbexec.uncaught")'
_SETUP_JS = f"""{{
  const key = {_UNCAUGHT_KEY};
  if (!globalThis[key]) {{
    const seen = (globalThis[key] = []);
    globalThis.addEventListener("error", (e) => {{
      e.preventDefault();
      seen.push(e.error ?? new Error(e.message));
    }});
    globalThis.addEventListener("unhandledrejection", (e) => {{
      e.preventDefault();
      seen.push(e.reason);
    }});
  }}
}}"""
# Throws the first error recorded since the last check, after waiting WAIT_MS for timers.
_CHECK_JS = f"""await (async () => {{
  await new Promise((done) => setTimeout(done, WAIT_MS));
  const seen = globalThis[{_UNCAUGHT_KEY}] ?? [];
  if (seen.length) {{
    const [first] = seen.splice(0);
    throw first instanceof Error ? first : new Error(String(first));
  }}
}})();"""
# How long the check after the last cell lets pending timers run.
_FINAL_WAIT_MS = 200


class UncaughtError(Exception):
    """An error thrown outside a cell's own run (timer, callback, promise), found after it."""

    def __init__(self, cell_index, ename, evalue):
        super().__init__(f"{ename}: {evalue}")
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue


class NotANotebook(Exception):
    """The input is not a notebook nbformat can read and validate; the message says why."""


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
        # Hidden request msg id -> index of the cell it checked (None for the setup).
        self._hidden_msg_ids = {}
        self._watching = None  # whether uncaught errors are recorded (decided at the first cell)
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
            elif parent in self._hidden_msg_ids:
                self._attach_hidden(msg, self._hidden_msg_ids[parent])

    def _attach_hidden(self, msg, cell_index):
        """A hidden request's message: the kernel parents a timer's later output to the last
        request, so stream and display outputs go to the cell checked; the request's own
        messages (its input, status, and its error, which the reply carries) are dropped."""
        if cell_index is not None and msg["msg_type"] in ("stream", "display_data"):
            self._attach_late(msg, cell_index)

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

    async def _run_hidden(self, code, cell_index):
        """Runs code on the kernel outside the notebook (no history, no execution count);
        returns the execute reply."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        self._hidden_msg_ids[msg_id] = cell_index
        return await self.async_wait_for_reply(msg_id)

    async def _start_watching(self):
        """On a Deno kernel, start recording errors that nothing awaits."""
        spec = getattr(self.km, "kernel_spec", None)
        language = (getattr(spec, "language", None) or "").lower()
        self._watching = False
        if language in ("typescript", "javascript"):
            reply = await self._run_hidden(_SETUP_JS, None)
            self._watching = bool(reply and reply["content"].get("status") == "ok")

    async def _check_uncaught(self, cell, cell_index, wait_ms):
        """Raises UncaughtError (adding it to the cell's outputs) if one was recorded."""
        reply = await self._run_hidden(_CHECK_JS.replace("WAIT_MS", str(wait_ms)), cell_index)
        content = (reply or {}).get("content", {})
        if content.get("status") != "error":
            return
        ename, evalue = content.get("ename", "Error"), content.get("evalue", "")
        cell.outputs.append(
            nbformat.v4.new_output(
                "error", ename=ename, evalue=evalue, traceback=content.get("traceback", [])
            )
        )
        raise UncaughtError(cell_index, ename, evalue)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self.current_cell_index = cell_index
        is_code = cell.cell_type == "code" and cell.source.strip()
        if is_code and self._watching is None:
            await self._start_watching()
        start = time.monotonic()
        try:
            result = await super().async_execute_cell(
                cell, cell_index, execution_count=execution_count, store_history=store_history
            )
        finally:
            if is_code:
                sys.stderr.write(
                    f"nbexec: cell {cell_index} {time.monotonic() - start:.2f} s\n"
                )
                sys.stderr.flush()
        if is_code and self._watching:
            last = cell_index == _last_code_cell(self.nb)
            await self._check_uncaught(cell, cell_index, _FINAL_WAIT_MS if last else 0)
        return result


def _last_code_cell(nb):
    """Index of the last code cell that runs (nbclient skips empty ones), or None."""
    indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    return indices[-1] if indices else None


def _one_line(text, limit=300):
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _read_notebook(path):
    """Reads and validates a notebook (as version 4); raises NotANotebook saying what is wrong."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise NotANotebook(f"cannot read it ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotANotebook(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotANotebook(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise NotANotebook(f"expected a JSON object but found {type(data).__name__}")
    with warnings.catch_warnings():
        # Missing cell ids and the like: nbformat fills them in; nothing to report.
        warnings.simplefilter("ignore")
        nb = None
        try:
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
        except nbformat.ValidationError as exc:
            raise NotANotebook(_validation_reason(exc, nb)) from None
        except Exception as exc:  # nbformat's other errors (version, structure)
            raise NotANotebook(_one_line(f"{type(exc).__name__}: {exc}")) from None
    return nb


def _validation_reason(exc, nb):
    """Where and what, from jsonschema's validator, which says which key is wrong (nbformat's
    default, fastjsonschema, only says that a cell matches none of the cell types)."""
    if nb is not None:
        previous = os.environ.get("NBFORMAT_VALIDATOR")
        os.environ["NBFORMAT_VALIDATOR"] = "jsonschema"
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as better:
            exc = better
        except Exception:  # jsonschema missing: keep the first error
            pass
        finally:
            if previous is None:
                del os.environ["NBFORMAT_VALIDATOR"]
            else:
                os.environ["NBFORMAT_VALIDATOR"] = previous
    where = "/".join(str(p) for p in getattr(exc, "absolute_path", None) or [])
    message = _one_line(getattr(exc, "message", None) or str(exc))
    return f"{where}: {message}" if where else message


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
        f.flush()
        os.fsync(f.fileno())
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
    try:
        nb = _read_notebook(args.input)
    except NotANotebook as exc:
        sys.stderr.write(f"{args.input}: not a valid notebook: {exc}\n")
        return 2
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)

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
    except UncaughtError as exc:
        failure = (
            f"cell {exc.cell_index} raised {exc.ename}: {_first_line(exc.evalue)} "
            "(uncaught, in a timer, callback or promise; the kernel itself does not report it)"
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
