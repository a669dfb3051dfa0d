"""``ohsc serve --workers N``: N server processes, each listening on the port itself.

uvicorn's own ``--workers`` binds one socket in the parent and hands it to every worker. On
Linux the process that happens to be awake accepts every connection: with 32 keep-alive
clients, ``ss`` showed all 32 in one worker and none in the other, so a second process added
nothing but contention (issue 10, item 10). Here each worker opens its own listening socket on
the same address with ``SO_REUSEPORT``, and the kernel spreads new connections across them.

The parent only supervises: it starts the workers (``spawn``: a fresh interpreter each), starts
a worker again when one dies, stops when one cannot start at all (a broken configuration would
fail the same way every time), and passes Ctrl-C or SIGTERM on. Workers exit when the parent
dies, however it dies.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from ohsc.errors import ConfigError

log = logging.getLogger(__name__)

#: a worker's exit status when its server never started (uvicorn uses the same)
STARTUP_FAILURE = 3
POLL_SECONDS = 0.5
STOP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    host: str
    port: int
    access_log: bool
    log_level: str
    app: str = "ohsc.web.app:app_from_env"


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other processes may share (``SO_REUSEPORT``)."""
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - not Linux/BSD
        raise ConfigError("several server processes need SO_REUSEPORT (Linux or BSD)")
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _check_free(host: str, port: int) -> None:
    """Fail at once, in the parent, when the port is taken (bound, not listening: no traffic)."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def run_worker(options: WorkerOptions, parent_pid: int) -> None:
    """One server process (the target of each spawned worker)."""
    import uvicorn

    from ohsc.scanning.worker import exit_with_parent

    exit_with_parent(parent_pid)
    sock = listening_socket(options.host, options.port)
    config = uvicorn.Config(
        options.app,
        factory=True,
        host=options.host,
        port=options.port,
        access_log=options.access_log,
        log_level=options.log_level,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class Supervisor:
    """Starts ``workers`` processes and keeps them running until told to stop."""

    def __init__(self, options: WorkerOptions, workers: int) -> None:
        self.options = options
        self.workers = workers
        self.processes: list[BaseProcess] = []
        self._stop = False
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> BaseProcess:
        process = self._context.Process(
            target=run_worker, args=(self.options, os.getpid()), name="ohsc-server", daemon=False
        )
        process.start()
        return process

    def stop(self, *_args: Any) -> None:
        self._stop = True

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; the exit status (non-zero when a worker cannot start)."""
        _check_free(self.options.host, self.options.port)
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            self.processes = [self._start() for _ in range(self.workers)]
            while not self._stop:
                time.sleep(POLL_SECONDS)
                status = self._replace_dead()
                if status:
                    break
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _replace_dead(self) -> int:
        for i, process in enumerate(self.processes):
            if process.is_alive() or self._stop:
                continue
            code = process.exitcode
            if code == STARTUP_FAILURE:
                log.error("a server process could not start (see above); stopping")
                return STARTUP_FAILURE
            log.warning("server process %s ended (exit status %s); starting another", process.pid, code)
            self.processes[i] = self._start()
        return 0

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)  # uvicorn finishes open requests, then exits
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
