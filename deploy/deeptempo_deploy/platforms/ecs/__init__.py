"""AWS ECS/Fargate: render a task definition and its execution role's least-privilege policy from the
spec, verify them offline (botocore's model plus what it does not check), run a task locally."""

TASK_DEFINITION = "ecs/task-definition.json"
EXECUTION_ROLE_POLICY = "ecs/execution-role-policy.json"
CONTAINER = "deeptempo"
LAYOUTS = ("secret-per-variable", "json-secret", "ssm")
# Fargate's task sizes: cpu units -> the memory (MiB) each allows.
FARGATE_SIZES = {
    "256": [512, 1024, 2048],
    "512": list(range(1024, 4097, 1024)),
    "1024": list(range(2048, 8193, 1024)),
    "2048": list(range(4096, 16385, 1024)),
    "4096": list(range(8192, 30721, 1024)),
    "8192": list(range(16384, 61441, 4096)),
    "16384": list(range(32768, 122881, 8192)),
}
