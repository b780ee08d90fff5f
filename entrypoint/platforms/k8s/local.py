"""`local k8s OVERLAY --env-file F`: render the overlay with F as its secretGenerator env-file, then
run the pod's main container in Docker the way a kubelet would configure it, and wait for its
readiness probe. What a kubelet does that matters here:

- environment: `envFrom` sources in order (a later one wins a key), then `env` (overriding them);
  `secretKeyRef`/`configMapKeyRef` (an `optional` one may be absent); `$(VAR)` in values, command and
  args expands to a variable defined before it, `$$(VAR)` escapes it; keys that are not variable names
  are skipped.
- securityContext: runAsUser/runAsGroup -> --user, fsGroup -> a supplementary group, read-only root,
  capabilities, allowPrivilegeEscalation: false -> no-new-privileges.
- volumes: emptyDir -> tmpfs; a Secret volume -> files written atomically behind `..data` links,
  mode defaultMode (with group read when fsGroup is set), owned by root and the fsGroup."""

import base64
import os
import re
import shutil
import tempfile
import time

from entrypoint.deploy.runner import ContainerSpec, DockerRunner, LocalResult, NotHealthy, writable_tmpfs
from entrypoint.errors import ConfigError
from entrypoint.platforms.k8s.manifests import (
    container_port,
    generator_env_files,
    kustomize,
    main_container,
    pod_templates,
    rendered_copy,
)

VARIABLE_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def render_overlay(overlay, env_file):
    if not os.path.isdir(overlay):
        raise ConfigError(f"overlay {overlay}: is not a kustomization directory")
    from entrypoint.envfile.reader import read_env_file  # refuses FIFOs, names bad lines

    read_env_file(env_file, strict=True)
    with open(env_file, encoding="utf-8") as stream:
        text = stream.read()
    paths = generator_env_files(overlay)  # the user's --env-file stands in for each
    if not paths:  # no generator (a pre-created Secret, ESO): the env-file stands in for that Secret
        return kustomize(overlay), text
    with rendered_copy(overlay, dict.fromkeys(paths, text)) as copy:
        return kustomize(copy), None


def kubelet_environment(container, documents, stand_in_secret_text=None):
    """The container's environment exactly as a kubelet builds it, from the rendered objects."""
    objects = {(d.get("kind"), (d.get("metadata") or {}).get("name")): d for d in documents}
    environment = {}

    def data_of(kind, name, optional):
        document = objects.get((kind, name))
        if document is None:
            if kind == "Secret" and stand_in_secret_text is not None:
                return _env_text_data(stand_in_secret_text)
            if optional:
                return {}
            raise ConfigError(f"{kind} {name}: referenced by the pod but not in the rendered manifests")
        if kind == "Secret":
            decoded = {key: base64.b64decode(value).decode("utf-8") for key, value in (document.get("data") or {}).items()}
            return {**decoded, **(document.get("stringData") or {})}
        return dict(document.get("data") or {})

    for source in container.get("envFrom") or []:
        for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = source.get(key)
            if ref:
                for name, value in data_of(kind, ref.get("name"), ref.get("optional", False)).items():
                    if VARIABLE_NAME.fullmatch(source.get("prefix", "") + name):
                        environment[source.get("prefix", "") + name] = value
    for variable in container.get("env") or []:
        name = variable["name"]
        if "value" in variable:
            environment[name] = expand(variable.get("value") or "", environment)
            continue
        value_from = variable.get("valueFrom") or {}
        for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            ref = value_from.get(key)
            if ref:
                data = data_of(kind, ref.get("name"), ref.get("optional", False))
                if ref.get("key") in data:
                    environment[name] = data[ref["key"]]
                elif not ref.get("optional", False):
                    raise ConfigError(f"env {name}: key {ref.get('key')} is not in {kind} {ref.get('name')}")
    return environment


def _env_text_data(text):
    """A Secret made the way `kubectl create secret generic --from-env-file` makes it."""
    from entrypoint.envfile.reader import parse_env_text

    return {key: value for key, value in parse_env_text(text, "--env-file").values.items() if value is not None}


def expand(text, environment):
    """Kubernetes' $(VAR) expansion: defined variables expand, $$ escapes, anything else stays as written."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return environment[name] if name in environment else match.group(0)

    return REFERENCE.sub(replace, text)


class SecretVolume:
    """A Secret volume laid out as a kubelet's atomic writer does, in a host directory to bind-mount."""

    def __init__(self, data, default_mode, fs_group, items=None):
        self.directory = tempfile.mkdtemp(prefix="deeptempo-secret-volume-")
        os.chmod(self.directory, 0o755)
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.000000000", time.gmtime())
        payload = os.path.join(self.directory, stamp)
        os.mkdir(payload, 0o755)
        mode = default_mode | (0o440 if fs_group is not None else 0)
        files = {item["path"]: data[item["key"]] for item in items} if items else data
        for path, value in files.items():
            target = os.path.join(payload, path)
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(value)
            os.chmod(target, mode & 0o777)
            if fs_group is not None and os.geteuid() == 0:
                os.chown(target, 0, fs_group)
        os.symlink(stamp, os.path.join(self.directory, "..data"))
        for path in files:
            os.symlink(os.path.join("..data", path), os.path.join(self.directory, path))

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)


def container_spec(pod_spec, container, documents, image, stand_in_secret_text=None):
    """(ContainerSpec, readiness (path, port), volumes to remove afterwards)."""
    pod_context = pod_spec.get("securityContext") or {}
    context = container.get("securityContext") or {}
    environment = kubelet_environment(container, documents, stand_in_secret_text)
    user = context.get("runAsUser", pod_context.get("runAsUser"))
    group = context.get("runAsGroup", pod_context.get("runAsGroup"))
    fs_group = pod_context.get("fsGroup")
    capabilities = context.get("capabilities") or {}
    extra = {"group_add": [str(fs_group)]} if fs_group is not None else {}
    tmpfs, volumes, cleanup = {}, {}, []
    by_name = {volume["name"]: volume for volume in pod_spec.get("volumes") or []}
    objects = {(d.get("kind"), (d.get("metadata") or {}).get("name")): d for d in documents}
    for mount in container.get("volumeMounts") or []:
        volume = by_name.get(mount["name"]) or {}
        if "emptyDir" in volume:
            # A kubelet makes an emptyDir writable by the pod: its fsGroup owns it (else it is 0777).
            size = _tmpfs_size((volume.get("emptyDir") or {}).get("sizeLimit"))
            tmpfs[mount["mountPath"]] = writable_tmpfs(user, fs_group if fs_group is not None else group, size)
        elif "secret" in volume:
            secret = volume["secret"]
            document = objects.get(("Secret", secret.get("secretName")))
            if document is None and stand_in_secret_text is None:
                raise ConfigError(f"Secret {secret.get('secretName')}: mounted by the pod but not in the rendered manifests")
            data = _env_text_data(stand_in_secret_text) if document is None else {
                key: base64.b64decode(value).decode("utf-8") for key, value in (document.get("data") or {}).items()}
            laid_out = SecretVolume(data, secret.get("defaultMode", 0o644), fs_group, secret.get("items"))
            cleanup.append(laid_out)
            volumes[laid_out.directory] = {"bind": mount["mountPath"], "mode": "ro"}
        else:
            raise ConfigError(f"volume {mount['name']}: only emptyDir and secret volumes can be run locally")
    command = [expand(part, environment) for part in container.get("command") or []] or None
    args = [expand(part, environment) for part in container.get("args") or []] or None
    readiness = (container.get("readinessProbe") or {}).get("httpGet") or {}
    port = container_port(container, readiness.get("port"))
    spec = ContainerSpec(
        image=image or container["image"], entrypoint=command, command=args, environment=environment,
        user=f"{user}:{group}" if user is not None and group is not None else (str(user) if user is not None else None),
        read_only=context.get("readOnlyRootFilesystem") is True, tmpfs=tmpfs,
        cap_drop=list(capabilities.get("drop") or []), cap_add=list(capabilities.get("add") or []),
        security_opt=["no-new-privileges"] if context.get("allowPrivilegeEscalation") is False else [],
        volumes=volumes, publish=tuple(p["containerPort"] for p in container.get("ports") or []),
        healthcheck={"test": ["NONE"]},  # a kubelet ignores the image's HEALTHCHECK; the probe below decides
        extra=extra)
    return spec, (readiness.get("path"), port), cleanup


def _tmpfs_size(limit):
    if not limit:
        return None
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(limit))
    if not match:
        return None
    return match.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: ""}[match.group(2)]


def run_local_k8s(overlay, env_file, image=None, timeout=60):
    documents, stand_in = render_overlay(overlay, env_file)
    templates = list(pod_templates(documents))
    if not templates:
        raise ConfigError(f"overlay {overlay}: renders no workload")
    _, pod_spec, _ = templates[0]
    container = main_container(pod_spec)
    spec, (path, port), cleanup = container_spec(pod_spec, container, documents, image, stand_in)
    if not path or not port:
        raise ConfigError(f"overlay {overlay}: container {container.get('name')} has no httpGet readinessProbe")
    try:
        with DockerRunner("local-k8s") as runner:
            runner.ensure_image(spec.image)
            running = runner.start(spec)
            try:
                seconds = running.wait_healthy(timeout, path, port)
            except NotHealthy as exc:
                return LocalResult(False, exc.reason, log_tail=exc.log_tail)
            return LocalResult(True, f"ready: GET {path} on port {port} -> 200", seconds)
    finally:
        for volume in cleanup:
            volume.remove()

