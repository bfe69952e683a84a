"""Talking to a Kubernetes cluster through ``kubectl`` (argument lists, an explicit kubeconfig):
the cluster's version, apply, waits that explain their timeouts, port-forwards, and copying
local files into a claim. Used by the CLI's cluster commands and by the pytest plugin.

Modules: ``cluster`` (``Cluster``), ``portforward``, ``claims``, ``waiting`` (``wait_for``),
``errors``. Nothing is imported here, so that ``waiting`` stays light to import.
"""
