"""The test cluster: ``k8s_mlserve.kube.cluster``, under the name the plugin's users know."""

from ..kube.cluster import TEST_LABEL, Cluster, job_failure, rollout_problem
from ..kube.errors import ImageUnavailable, JobFailed, KubectlError

__all__ = [
    "TEST_LABEL",
    "Cluster",
    "ImageUnavailable",
    "JobFailed",
    "KubectlError",
    "job_failure",
    "rollout_problem",
]
