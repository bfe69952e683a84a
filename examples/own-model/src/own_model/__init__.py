"""A breast-cancer classifier, trained here and served by k8s-mlserve."""

NAME = "own-model"
