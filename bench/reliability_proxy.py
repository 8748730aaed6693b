"""A small TCP proxy on 127.0.0.1 in front of a database, that can cut every connection for a
few seconds: what a worker sees when the network or the database goes away.

    with CuttableProxy("127.0.0.1", 5432) as proxy:      # proxy.port: point DATABASE_URL at it
        proxy.cut(seconds=3)                             # drops all, refuses new ones for 3 s

Threads, not asyncio: the bench and the tests drive it from plain synchronous code. Bounded: at
most `max_connections` pairs at once; listens on loopback only."""

from __future__ import annotations

import socket
import threading
import time


class CuttableProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, max_connections: int = 200):
        self.upstream = (upstream_host, upstream_port)
        self.max_connections = max_connections
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.refuse_until = 0.0
        self.cuts = 0
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="db-proxy", daemon=True)

    def __enter__(self) -> CuttableProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url_for(self, database_url: str) -> str:
        """The same database URL, through the proxy."""
        scheme, rest = database_url.split("://", 1)
        credentials, _, location = rest.rpartition("@")
        _, _, path = location.partition("/")
        return f"{scheme}://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}/{path}"

    def cut(self, *, seconds: float) -> int:
        """Drop every connection now and refuse new ones for `seconds`. Returns how many dropped."""
        with self.lock:
            self.refuse_until = time.monotonic() + seconds
            pairs, self.pairs = self.pairs, []
            self.cuts += 1
        for pair in pairs:
            self._shut(pair)
        return len(pairs)

    def close(self) -> None:
        self.closed.set()
        self.cut(seconds=0)
        self.listener.close()
        if self.thread.is_alive():
            self.thread.join(2)

    @staticmethod
    def _shut(pair) -> None:
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                refused = time.monotonic() < self.refuse_until or len(self.pairs) >= self.max_connections
            if refused:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = (client, server)
            with self.lock:
                self.pairs.append(pair)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target, pair), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, pair) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        self._shut(pair)
