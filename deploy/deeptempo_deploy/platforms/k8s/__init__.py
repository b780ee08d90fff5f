"""Kubernetes: Kustomize base, overlays and components; render the parts the spec decides, verify
rendered manifests for every supported version, run an overlay's pod locally."""

SECRET_NAME = "deeptempo-secrets"
OVERLAYS = ("dev", "production")
DATABASE_OVERLAYS = ("production",)  # those with components/external-database: their database.env.example
DATABASE_CONFIGMAP = "deeptempo-database"  # the database's settings, read by the backend (and the StatefulSet)
SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(30, 38))
EXTERNAL_SECRET_KEY = "deeptempo/production"  # the AWS Secrets Manager secret ESO reads
