"""Sends requests to a k8s-mlserve Service and prints one JSON line per answer.

The release tests run this file's source with ``python -c``, on the test host or inside a pod of
the server image, so the same loop measures the traffic wherever the Service is reachable from;
it needs only the standard library. Arguments: ``HOST PORT ROUTE COUNT INTERVAL``, where ROUTE is
``predict`` or ``version``, COUNT 0 means "until standard input closes", and INTERVAL is the pause
in seconds between requests. The first line of standard input is a JSON object with the
``api_key`` and the ``row`` to predict.

Every request opens a new connection: kube-proxy picks an endpoint per connection, so this is how
many independent clients spread over the pods, and no keep-alive connection to a pod that is
going away is ever reused.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from typing import Any

TIMEOUT = 10.0


def ask(host: str, port: int, route: str, api_key: str, row: dict[str, Any]) -> dict[str, Any]:
    """One request on a new connection: status, served version and algorithm, or the error."""
    started = time.monotonic()
    answer: dict[str, Any] = {"status": None, "version": None, "algorithm": None, "error": None}
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        if route == "predict":
            headers = {"Content-Type": "application/json", "X-API-Key": api_key}
            connection.request("POST", "/predict", body=json.dumps(row), headers=headers)
        else:
            connection.request("GET", "/version")
        response = connection.getresponse()
        body = response.read()
        answer["status"] = response.status
        if response.status == 200:
            data = json.loads(body)
            answer["version"] = data.get("model_version" if route == "predict" else "version")
            answer["algorithm"] = data.get("algorithm")
        else:
            answer["error"] = body.decode(errors="replace")[:300]
    except (OSError, http.client.HTTPException, ValueError) as exc:
        answer["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    answer["ms"] = round((time.monotonic() - started) * 1000, 1)
    return answer


def main(argv: list[str]) -> int:
    host, port, route, count, interval = (
        argv[1],
        int(argv[2]),
        argv[3],
        int(argv[4]),
        float(argv[5]),
    )
    request = json.loads(sys.stdin.readline())
    api_key, row = request["api_key"], request["row"]
    stop = threading.Event()
    if count == 0:

        def stop_at_end_of_input() -> None:
            sys.stdin.read()
            stop.set()

        threading.Thread(target=stop_at_end_of_input, daemon=True).start()
    sent = 0
    while not stop.is_set() and (count == 0 or sent < count):
        print(json.dumps(ask(host, port, route, api_key, row)), flush=True)
        sent += 1
        if interval > 0:
            stop.wait(interval)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
