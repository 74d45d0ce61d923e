"""moto_server as the sandbox's AWS, with the few additions the sandbox needs.

moto keeps ECS state but runs no containers and no scheduler. In the sandbox, ecs-sidekick's
own runtime plays the parts AWS plays for real (the container runtime and the ECS agent
reporting exit codes, the scheduler writing service events), through a private endpoint under
/_sandbox/ that no AWS SDK call can reach. The handlers only ever use the regular AWS APIs.

Fidelity fixes for gaps in moto 5.2.1, each one marked below:
  - RunTask with awsvpc networking crashes (NetworkInterface.private_dns_name is missing).
  - A task holds only its first container; ECS reports one per container definition.
  - ListTasks ignores serviceName; ECS filters on the task group "service:<name>".
  - RunTask/CreateService/UpdateService drop enableExecuteCommand (and deploymentConfiguration).
  - StopTask sets no stopCode, timestamps or container states.
  - DescribeTasks moves running tasks towards STOPPED, a step per call.
    - FilterLogEvents ignores logStreamNamePrefix, and matches every event for `?a ?b` (any term).
  - UpdateService with forceNewDeployment or a new task definition only renames the one
    deployment; ECS makes a new PRIMARY deployment (IN_PROGRESS) and keeps the old one ACTIVE
    until the scheduler has replaced its tasks.
  - ExecuteCommand is not implemented: here it checks the task as ECS does and hands out a
    session whose streamUrl points at the sandbox's exec gateway (sandbox/exec-gateway).

Usage: python3 sidekick_moto.py [--host 127.0.0.1] [--port 0]
Prints "MOTO_READY port=<n>" on stdout once it accepts connections.
"""

import argparse
import json
import secrets
import signal
import sys
import uuid
from datetime import datetime, timezone

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.ecs.exceptions import InvalidParameterException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs import models as ecs_models
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.logs.responses import LogsResponse
from moto.logs.models import logs_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

# --- fidelity fixes -------------------------------------------------------------------------

if not hasattr(NetworkInterface, "private_dns_name"):
    NetworkInterface.private_dns_name = property(
        lambda self: "ip-" + str(self.private_ip_address).replace(".", "-") + ".ec2.internal"
    )


def _container_for(task, definition):
    container = ecs_models.Container(task._task_definition)
    container.name = definition.get("name")
    container.image = definition.get("image")
    container.cpu = definition.get("cpu")
    container.memory = definition.get("memory")
    container.environment = definition.get("environment")
    container.command = definition.get("command")
    container.last_status = "RUNNING"
    container.exitCode = None
    container.health_status = "HEALTHY" if definition.get("healthCheck") else "UNKNOWN"
    container.task_arn = task.task_arn
    container.runtime_id = f"{task.id}-{definition.get('name')}"
    container.managed_agents = None
    return container


_original_task_init = ecs_models.Task.__init__


def _task_init(self, cluster, task_definition, *args, **kwargs):
    self._task_definition = task_definition
    _original_task_init(self, cluster, task_definition, *args, **kwargs)
    # ECS task ids are 32 hex characters; moto uses dashed UUIDs.
    self.id = self.id.replace("-", "")
    now = utcnow()
    self.created_at = now
    self.pull_started_at = now
    self.pull_stopped_at = now
    self.started_at = now
    self.stop_code = None
    self.stopping_at = None
    self.stopped_at = None
    self.execution_stopped_at = None
    self.health_status = "UNKNOWN"
    self.enable_execute_command = False
    self.containers = [_container_for(self, d) for d in task_definition.container_definitions]


ecs_models.Task.__init__ = _task_init
# moto advances a task's status a step (RUNNING → DEACTIVATING → … → STOPPED) each time it
# is described; ECS does not. Task states change only through StopTask and the runtime.
ecs_models.Task.advance = lambda self: None


def _set_exec_flag(task, enabled):
    task.enable_execute_command = bool(enabled)
    for container in task.containers:
        container.managed_agents = (
            [{"name": "ExecuteCommandAgent", "lastStatus": "RUNNING", "lastStartedAt": task.started_at}]
            if enabled
            else None
        )


_original_run_task = EC2ContainerServiceResponse.run_task


def _run_task(self):
    result = _original_run_task(self)
    for task in result.result["tasks"]:
        _set_exec_flag(task, self._get_param("enableExecuteCommand", False))
    return result


EC2ContainerServiceResponse.run_task = _run_task


def _remember_service_exec_flag(original):
    def wrapper(self):
        result = original(self)
        flag = self._get_param("enableExecuteCommand")
        if flag is not None:
            result.result["service"].enable_execute_command = bool(flag)
        elif not hasattr(result.result["service"], "enable_execute_command"):
            result.result["service"].enable_execute_command = False
        # moto drops deploymentConfiguration too (the minimum healthy percent restarts honour).
        deployment = self._get_param("deploymentConfiguration")
        if deployment:
            result.result["service"].deployment_configuration = deployment
        return result

    return wrapper


EC2ContainerServiceResponse.create_service = _remember_service_exec_flag(EC2ContainerServiceResponse.create_service)
EC2ContainerServiceResponse.update_service = _remember_service_exec_flag(EC2ContainerServiceResponse.update_service)

_original_list_tasks = ecs_models.EC2ContainerServiceBackend.list_tasks


def _list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None, service_name=None, desiredStatus=None):
    tasks = _original_list_tasks(self, cluster_str, container_instance, family, started_by, None, desiredStatus)
    if cluster_str:
        cluster = self._get_cluster(cluster_str)
        tasks = [t for t in tasks if t.cluster_arn == cluster.arn]
    if service_name:
        tasks = [t for t in tasks if t.group == f"service:{service_name.split('/')[-1]}"]
    return tasks


ecs_models.EC2ContainerServiceBackend.list_tasks = _list_tasks

_original_update_service = ecs_models.EC2ContainerServiceBackend.update_service


def _update_service(self, service_properties):
    force = service_properties.get("force_new_deployment", False)
    new_definition = service_properties.get("task_definition")
    service = self._get_service(service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1])
    before = [dict(d) for d in service.deployments]
    running_before, pending_before = service.running_count, service.pending_count
    result = _original_update_service(self, service_properties)
    # moto sets runningCount to a new desiredCount at once; here the scheduler reports it.
    result.running_count, result.pending_count = running_before, pending_before
    if not before or not (force or (new_definition and new_definition != before[0].get("taskDefinition"))):
        return result
    now = utcnow()
    primary = dict(result.deployments[0])
    primary.update(
        id=primary["id"] if force else f"ecs-svc/{secrets.randbelow(32**12)}",
        createdAt=now, updatedAt=now, runningCount=0, pendingCount=0, failedTasks=0,
        desiredCount=result.desired_count, taskDefinition=result.task_definition,
        rolloutState="IN_PROGRESS", rolloutStateReason=f"ECS deployment {primary['id']} in progress.",
    )
    old = [dict(d, status="ACTIVE", updatedAt=now) for d in before if d.get("status") in ("PRIMARY", "ACTIVE")]
    result.deployments = [primary] + old
    return result


ecs_models.EC2ContainerServiceBackend.update_service = _update_service

_original_stop_task = ecs_models.EC2ContainerServiceBackend.stop_task


def _stop_task(self, cluster_str, task_str, reason):
    # As ECS does: the task is asked to stop (desired STOPPED) and stays DEACTIVATING until its
    # containers have exited, which the sandbox's agent reports (/_sandbox/ecs/task-state).
    before = _find_task(self, cluster_str, task_str)
    was = before.last_status if before else None
    task = _original_stop_task(self, cluster_str, task_str, reason)
    now = utcnow()
    task.stop_code = task.stop_code or "UserInitiated"
    task.stopping_at = task.stopping_at or now
    if was == "STOPPED":
        task.last_status = "STOPPED"
    else:
        task.last_status = "DEACTIVATING"
    return task


def _find_task(backend, cluster_str, task_str):
    cluster = backend._get_cluster(cluster_str)
    task_id = task_str.split("/")[-1]
    for arn, task in backend.tasks.get(cluster.name, {}).items():
        if arn.endswith(task_id):
            return task
    return None


ecs_models.EC2ContainerServiceBackend.stop_task = _stop_task

from moto.logs import models as logs_models
import re as _re

_OR_PATTERN = _re.compile(r'^(\s*\?("[^"]*"|[^\s"?]+))+\s*$')
_OriginalEventMessageFilter = logs_models.EventMessageFilter


class _EventMessageFilter:
    """moto matches every event for `?term ?"a phrase"` (any of the terms); CloudWatch does not."""

    def __init__(self, pattern):
        self.terms = None
        if pattern and _OR_PATTERN.match(pattern):
            self.terms = [t.strip('"') for t in _re.findall(r'\?("[^"]*"|[^\s"?]+)', pattern)]
        else:
            self.original = _OriginalEventMessageFilter(pattern)

    def matches(self, message):
        if self.terms is None:
            return self.original.matches(message)
        return any(term in message for term in self.terms)


logs_models.EventMessageFilter = _EventMessageFilter

_original_filter_log_events = LogsResponse.filter_log_events


def _filter_log_events(self):
    prefix = self._get_param("logStreamNamePrefix")
    if prefix:
        group = logs_backends[self.current_account][self.region].groups.get(self._get_param("logGroupName"))
        names = [name for name in (group.streams if group else {}) if name.startswith(prefix)]
        if not names:
            return json.dumps({"events": [], "searchedLogStreams": []})
        self._sidekick_stream_names = names
    return _original_filter_log_events(self)


_original_get_param = LogsResponse._get_param


def _get_param(self, name, default=None):
    if name == "logStreamNames" and getattr(self, "_sidekick_stream_names", None):
        return self._sidekick_stream_names
    return _original_get_param(self, name, default)


LogsResponse.filter_log_events = _filter_log_events
LogsResponse._get_param = _get_param

# --- ExecuteCommand ------------------------------------------------------------------------

EXEC = {"gateway": None, "sessions": {}}
NOT_ENABLED = (
    "The execute command failed because execute command was not enabled when the task was run "
    "or the execute command agent isn't running. Wait and try again or run a new task with "
    "execute command enabled and try again."
)


class TargetNotConnectedException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("TargetNotConnectedException", message)


def _execute_command(self):
    backend = self.ecs_backend
    if not self._get_param("interactive"):
        raise InvalidParameterException("Interactive is the only mode supported currently.")
    cluster = backend._get_cluster(self._get_param("cluster", "default"))
    task_ref = self._get_param("task") or ""
    task = next(
        (t for arn, t in backend.tasks.get(cluster.name, {}).items() if arn == task_ref or arn.endswith("/" + task_ref)),
        None,
    )
    if task is None:
        raise InvalidParameterException(f"The specified task {task_ref} was not found in cluster {cluster.name}.")
    if task.last_status != "RUNNING":
        raise InvalidParameterException("The execute command failed because the specified task is not running.")
    name = self._get_param("container")
    if name is None and len(task.containers) > 1:
        raise InvalidParameterException("The task has more than one container: specify the container to execute the command in.")
    container = next((c for c in task.containers if name is None or c.name == name), None)
    if container is None:
        raise InvalidParameterException(f"The specified container {name} was not found in the task.")
    agent = (container.managed_agents or [{}])[0]
    if not task.enable_execute_command or agent.get("lastStatus") != "RUNNING":
        raise InvalidParameterException(NOT_ENABLED)
    if EXEC["gateway"] is None:
        raise TargetNotConnectedException("The execute command failed due to an internal error. Try again later.")
    session_id = f"ecs-execute-command-{uuid.uuid4().hex[:17]}"
    token = secrets.token_urlsafe(48)
    config = (getattr(cluster, "configuration", None) or {}).get("executeCommandConfiguration", {})
    EXEC["sessions"][session_id] = {
        "token": token,
        "info": {
            "sessionId": session_id,
            "cluster": cluster.name,
            "taskId": task.id,
            "container": container.name,
            "runtimeId": container.runtime_id,
            "command": self._get_param("command"),
            **({"kmsKeyId": config["kmsKeyId"]} if config.get("kmsKeyId") else {}),
        },
    }
    return ActionResult(
        {
            "clusterArn": cluster.arn,
            "containerArn": container.container_arn,
            "containerName": container.name,
            "interactive": True,
            "taskArn": task.task_arn,
            "session": {
                "sessionId": session_id,
                "streamUrl": f"{EXEC['gateway']}/v1/data-channel/{session_id}?role=publish_subscribe",
                "tokenValue": token,
            },
        }
    )


EC2ContainerServiceResponse.execute_command = _execute_command


def register_gateway(body):
    EXEC["gateway"] = body["url"]
    return 200, {}


def open_session(body):
    """The gateway trades a session's token for its target, once."""
    session = EXEC["sessions"].pop(body.get("sessionId", ""), None)
    if session is None or not secrets.compare_digest(session["token"], body.get("token", "")):
        return 403, {"message": "unknown session or token"}
    return 200, session["info"]


# --- the sandbox runtime's private endpoint ------------------------------------------------


def _ecs(body):
    return ecs_models.ecs_backends[body.get("account", DEFAULT_ACCOUNT_ID)][body.get("region", "us-east-1")]


def _time(ms):
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


TASK_FIELDS = {
    "lastStatus": ("last_status", None),
    "desiredStatus": ("desired_status", None),
    "stopCode": ("stop_code", None),
    "stoppedReason": ("stopped_reason", None),
    "healthStatus": ("health_status", None),
    "createdAt": ("created_at", _time),
    "pullStartedAt": ("pull_started_at", _time),
    "pullStoppedAt": ("pull_stopped_at", _time),
    "startedAt": ("started_at", _time),
    "stoppingAt": ("stopping_at", _time),
    "stoppedAt": ("stopped_at", _time),
    "executionStoppedAt": ("execution_stopped_at", _time),
}
CONTAINER_FIELDS = {
    "lastStatus": "last_status",
    "exitCode": "exitCode",
    "reason": "reason",
    "healthStatus": "health_status",
}


def set_task_state(body):
    """What the ECS agent reports for a task: status, stop code and reason, container exits."""
    backend = _ecs(body)
    cluster = backend._get_cluster(body["cluster"])
    task = next(
        (t for arn, t in backend.tasks.get(cluster.name, {}).items() if arn.endswith("/" + body["task"])),
        None,
    )
    if task is None:
        return 404, {"message": f"no task {body['task']} in cluster {cluster.name}"}
    for key, (attr, convert) in TASK_FIELDS.items():
        if key in body:
            setattr(task, attr, convert(body[key]) if convert else body[key])
    for update in body.get("containers", []):
        container = next((c for c in task.containers if c.name == update["name"]), None)
        if container is None:
            return 404, {"message": f"no container {update['name']} in task {body['task']}"}
        for key, attr in CONTAINER_FIELDS.items():
            if key in update:
                setattr(container, attr, update[key])
        if "execAgent" in update and container.managed_agents:
            container.managed_agents[0]["lastStatus"] = update["execAgent"]
    return 200, {"taskArn": task.task_arn}


def set_service_state(body):
    """What the ECS scheduler reports for a service: counts and service events."""
    backend = _ecs(body)
    service = backend._get_service(body["cluster"], body["service"])
    for key, attr in (("runningCount", "running_count"), ("pendingCount", "pending_count"), ("desiredCount", "desired_count")):
        if key in body:
            setattr(service, attr, body[key])
    primary = next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)
    if primary is not None:
        for key in ("runningCount", "pendingCount", "desiredCount", "failedTasks", "rolloutState", "rolloutStateReason"):
            if key in body:
                primary[key] = body[key]
        primary["updatedAt"] = utcnow()
        if body.get("retireOldDeployments"):
            service.deployments = [primary]
    if "event" in body:
        created = _time(body.get("eventAt")) or utcnow()
        service.events.insert(0, {"id": body.get("eventId", str(len(service.events) + 1)), "createdAt": created, "message": body["event"]})
        del service.events[100:]
    return 200, {"serviceArn": service.arn}


ROUTES = {
    "/_sandbox/ecs/task-state": set_task_state,
    "/_sandbox/ecs/service-state": set_service_state,
    "/_sandbox/exec/gateway": register_gateway,
    "/_sandbox/exec/session": open_session,
}


class SandboxEndpoint:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        handler = ROUTES.get(environ.get("PATH_INFO", ""))
        if handler is None:
            return self.app(environ, start_response)
        request = Request(environ)
        try:
            status, body = handler(json.loads(request.get_data() or b"{}"))
        except Exception as error:  # the runtime sent something moto cannot apply
            status, body = 400, {"message": f"{type(error).__name__}: {error}"}
        return Response(json.dumps(body), status=status, content_type="application/json")(environ, start_response)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    app = SandboxEndpoint(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"MOTO_READY port={server.server_port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
