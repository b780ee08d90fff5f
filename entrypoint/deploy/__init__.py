"""deeptempo-deploy: what runs on an operator's machine or in CI (render, verify, local, smoke).

Never imported by deeptempo-entrypoint's start-up path; its dependencies are the `deploy` extra."""
