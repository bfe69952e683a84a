"""Copying local files into a stack's models claim: ``k8s_mlserve.kube.claims``."""

from ..kube.claims import EXTRACT, SEED_POD, archive, copy_to_claim, seed_pod

__all__ = ["EXTRACT", "SEED_POD", "archive", "copy_to_claim", "seed_pod"]
