"""Load test for a k8s-mlserve server: single-row and batch ``POST /predict`` with valid rows.

Headless, against any URL (rows are sampled from the server's own ``/openapi.json``, or from a
bundle given with ``--bundle``)::

    locust -f loadtests/locustfile.py --headless -H http://127.0.0.1:8000 \\
        --api-key "$API_KEY" -u 20 -r 10 -t 1m

The users live in ``k8s_mlserve.testing.locustfile`` so that ``k8s_mlserve.testing.load.run_load``
runs the same ones from Python; see ``loadtests/README.md``.
"""

from k8s_mlserve.testing.locustfile import PredictUser

__all__ = ["PredictUser"]
