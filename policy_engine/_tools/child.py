"""Child processes that run functions of ours, for worker pools and crash isolation.

A child is a fresh interpreter started on this module (`python -c "…_serve()"`) with the parent's
`sys.path`; it never imports the caller's `__main__`, so a script needs no `if __name__ == "__main__":`
guard (with `multiprocessing`'s `spawn` every child re-runs the main script). Parent and child exchange
length-prefixed pickles over the child's stdin and a private copy of its stdout (the child's own stdout
goes to stderr, so a stray print cannot corrupt the stream). A child that dies shows as end of file:
`ChildDied`, with its exit status or signal.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from ..errors import PolicyEngineError

__all__ = ["Child", "ChildDied", "RemoteError"]

_HEADER = struct.Struct("!Q")
_BOOT = "import sys; sys.path[:] = {path!r}; from policy_engine._tools.child import _serve; _serve()"


class ChildDied(Exception):
    """The child process ended (crashed, was killed, or ran out of time) while it held work."""

    def __init__(self, returncode: int | None, timed_out: bool = False) -> None:
        self.returncode = returncode
        self.timed_out = timed_out
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.timed_out:
            return "did not answer in time and was killed"
        code = self.returncode
        if code is not None and code < 0:
            try:
                return f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"


class RemoteError(PolicyEngineError):
    """An exception raised in a child process that could not be sent back as itself (its traceback)."""


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else a RemoteError with its traceback."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return RemoteError(f"{type(exc).__name__} in a child process: {exc}\n{text}")


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        part = os.read(fd, min(n, 1 << 20))
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _HEADER.pack(len(data)) + data)


class Child:
    """One child process that runs `fn(*args)` on request, one call at a time."""

    def __init__(self) -> None:
        path = [os.getcwd() if p == "" else p for p in sys.path]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT.format(path=path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to = self._proc.stdin.fileno()
        self._from = self._proc.stdout.fileno()
        self._dead: ChildDied | None = None  # once set, every send and recv raises it

    @property
    def pid(self) -> int:
        return self._proc.pid

    def send(self, fn: Callable[..., Any], *args: Any) -> None:
        """Ask the child to run `fn(*args)`; `recv` gives the answer. ChildDied if it is gone."""
        if self._dead is not None:
            raise self._dead
        try:
            _send(self._to, (fn, args))
        except (BrokenPipeError, ConnectionResetError):
            raise self._died() from None

    def recv(self, timeout: float | None = None) -> Any:
        """The value `fn` returned, or the exception it raised, raised here. ChildDied if the child died
        (or, with a timeout, if `fn` ran longer than `timeout` seconds: the child is then killed)."""
        if self._dead is not None:
            raise self._dead
        status, value = self._read()
        if status == "started":  # the child has read the call and is running fn: the timeout starts now
            if timeout is not None:
                ready, _, _ = select.select([self._from], [], [], timeout)
                if not ready:
                    self.kill()
                    self._dead = ChildDied(self._proc.returncode, timed_out=True)
                    raise self._dead
            status, value = self._read()
        if status == "raise":
            raise value
        return value

    def _read(self) -> tuple[str, Any]:
        head = _read_exact(self._from, _HEADER.size)
        data = _read_exact(self._from, _HEADER.unpack(head)[0]) if head is not None else None
        if data is None:
            raise self._died()
        reply: tuple[str, Any] = pickle.loads(data)
        return reply

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        self.send(fn, *args)
        return self.recv(timeout)

    def _died(self) -> ChildDied:
        self._close_pipes()
        self._dead = ChildDied(self._proc.wait())
        return self._dead

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._close_pipes()
        self._proc.wait()

    def close(self, grace: float = 5.0) -> None:
        """Let the child finish (end of input), killing it if it does not exit within `grace` seconds."""
        if self._dead is None:
            self._dead = ChildDied(None)
        self._close_pipes()
        deadline = time.monotonic() + grace
        while self._proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.kill()


def _serve() -> None:
    """The child's loop: read (fn, args), say ("started", None), answer ("ok", value) or ("raise", exception),
    until end of input."""
    faulthandler.enable()  # a crash in the engine's C code leaves a Python traceback on stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    out = os.dup(1)
    os.dup2(2, 1)
    inp = 0
    while True:
        head = _read_exact(inp, _HEADER.size)
        data = _read_exact(inp, _HEADER.unpack(head)[0]) if head is not None else None
        if data is None:
            return
        try:
            fn, args = pickle.loads(data)
            _send(out, ("started", None))  # from here on, the parent's timeout runs
            payload = pickle.dumps(("ok", fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            payload = pickle.dumps(("raise", _portable(exc)), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(out, _HEADER.pack(len(payload)) + payload)
        except BrokenPipeError:  # the parent is gone: nobody wants the answer
            return
