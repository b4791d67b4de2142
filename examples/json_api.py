"""A small JSON API served and used with sockit: json=, params=, redirects, errors.

    python examples/json_api.py            # serves on a free port and talks to itself

The server keeps a todo list: ``GET /todos?done=false`` lists, ``POST /todos``
adds (``201`` with a ``Location``), ``GET /todos/<id>`` reads, ``POST
/todos/<id>/done`` marks done and redirects (303) to the item. The client
uses ``json=``, ``params=``, follows the 303 (as a GET), reads ``history`` and
turns a 404 into ``HTTPStatusError``. It ends with ``json api ok: ...``.
"""

from __future__ import annotations

import json
import sys
import threading

from sockit import HTTPClient
from sockit.client import HTTPStatusError
from sockit.server import HTTPServer, Response, ServerRequest, run

JSON = [("Content-Type", "application/json")]


class TodoApp:
    """The API: a dict of todos behind a lock (handlers may run on worker threads)."""

    def __init__(self) -> None:
        self.todos: dict[int, dict[str, object]] = {}
        self.lock = threading.Lock()

    def __call__(self, req: ServerRequest) -> Response:
        parts = [p for p in req.path.split("/") if p]
        with self.lock:
            if parts == ["todos"] and req.method == "POST":
                item = json.loads(req.body)
                todo = {"id": len(self.todos) + 1, "title": str(item["title"]), "done": False}
                self.todos[int(todo["id"])] = todo  # type: ignore[call-overload]
                return Response(201, [*JSON, ("Location", f"/todos/{todo['id']}")],
                                json.dumps(todo).encode())
            if parts == ["todos"]:
                want = dict(req.query_params).get("done")
                items = [t for t in self.todos.values()
                         if want is None or str(t["done"]).lower() == want]
                return Response(200, JSON, json.dumps(items).encode())
            if len(parts) >= 2 and parts[0] == "todos" and parts[1].isdigit():
                todo = self.todos.get(int(parts[1]))
                if todo is None:
                    return Response(404, JSON, b'{"error": "no such todo"}')
                if parts[2:] == ["done"] and req.method == "POST":
                    todo["done"] = True
                    return Response(303, [("Location", f"/todos/{parts[1]}")])
                return Response(200, JSON, json.dumps(todo).encode())
        return Response(404, JSON, b'{"error": "not found"}')


def main() -> int:
    server = HTTPServer("127.0.0.1", 0)
    thread = threading.Thread(target=run, args=(server, TodoApp()), daemon=True)
    thread.start()
    base = server.url
    try:
        with HTTPClient() as client:
            for title in ("write docs", "fix bug", "ship"):
                r = client.post(f"{base}/todos", json={"title": title}, timeout=10)
                assert r.status_code == 201, r.status_code
            done = client.post(f"{base}/todos/2/done", timeout=10)   # 303 -> GET /todos/2
            assert done.json() == {"id": 2, "title": "fix bug", "done": True}
            assert [h.status_code for h in done.history] == [303] and done.method == "GET"
            open_items = client.get(f"{base}/todos", params={"done": "false"}, timeout=10).json()
            assert [t["title"] for t in open_items] == ["write docs", "ship"]  # type: ignore[index]
            try:
                client.get(f"{base}/todos/99", timeout=10).raise_for_status()
            except HTTPStatusError as exc:
                missing = exc.status_code
            else:
                raise AssertionError("a 404 should raise")
    finally:
        server.stop()
        thread.join(10)
        server.close()
    print(f"json api ok: 3 created, 1 done via 303, {len(open_items)} open, "  # type: ignore[arg-type]
          f"missing -> {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
