"""Helm: a chart (k8s/helm/deeptempo) rendering the Kustomize base's objects, its values schema and list
of secrets rendered from the spec, verified by `helm template` and the Kubernetes judge."""

CHART = "k8s/helm/deeptempo"
RELEASE = "deeptempo"
NAMESPACE = "deeptempo"
