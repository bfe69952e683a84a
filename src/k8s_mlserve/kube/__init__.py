"""Talking to a Kubernetes cluster through ``kubectl`` (argument lists, an explicit kubeconfig):
the cluster's version, apply, waits that explain their timeouts, port-forwards, and copying
local files into a claim. Used by the CLI's cluster commands and by the pytest plugin."""

from .cluster import Cluster, job_failure
from .errors import JobFailed, KubectlError
from .waiting import StopWaiting, free_port, wait_for

__all__ = [
    "Cluster",
    "JobFailed",
    "KubectlError",
    "StopWaiting",
    "free_port",
    "job_failure",
    "wait_for",
]
