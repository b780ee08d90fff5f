"""Google Cloud Run: render a Knative-style service (what `gcloud run services replace` takes) and the
IAM bindings its secrets need from the spec, verify them against Google's run.v1 discovery document and
the kit's rules, run the service locally on Docker as Cloud Run would start it."""

SERVICE = "cloudrun/service.yaml"
IAM_POLICY = "cloudrun/iam-policy.yaml"
CONTAINER = "deeptempo"
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
INVOKER = "roles/run.invoker"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
# Annotations Cloud Run reads (the schema types them only as strings): where each belongs, its values.
INGRESS = "run.googleapis.com/ingress"
EXECUTION_ENVIRONMENT = "run.googleapis.com/execution-environment"
MAX_SCALE = "autoscaling.knative.dev/maxScale"
MIN_SCALE = "autoscaling.knative.dev/minScale"
INGRESS_VALUES = ("all", "internal", "internal-and-cloud-load-balancing")
# A secret version Cloud Run resolves when it reads it: `latest`, or a version number.
LATEST = "latest"
# Where each secret volume is mounted: a directory of its own (Cloud Run puts one secret in a volume).
SECRETS_ROOT = "/secrets"
