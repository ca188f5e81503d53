"""The task catalogue: a spec per seed type, exactly the issue's types supported, strict params."""

from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from nuage.domain.catalogue import (
    CATALOGUE,
    AnyParams,
    CreateParams,
    HostnameParams,
    NoParams,
    Params,
    ReinstallParams,
    ResizeParams,
    Resource,
    spec_for,
)
from nuage.domain.enums import InstanceStatus, TaskType

SUPPORTED = {
    # the instance's own types
    "create_vps",
    "delete_vps",
    "start_vps",
    "stop_vps",
    "reboot_vps",
    "shutdown_vps",
    "reset_vps",
    "resize_vps",
    "reinstall_os",
    "change_hostname",
    "sync_vps_state",
    # storage: every one of its 13 types
    "create_snapshot",
    "delete_snapshot",
    "restore_snapshot",
    "create_backup",
    "delete_backup",
    "restore_backup",
    "create_image_from_snapshot",
    "delete_image",
    "create_volume",
    "attach_volume",
    "detach_volume",
    "resize_volume",
    "delete_volume",
    # network and guest, as they land
    "assign_ip",
    "remove_ip",
    "update_reverse_dns",
    "get_vnc_url",
    "apply_config",
    "apply_firewall",
    "install_software",
    "uninstall_software",
    "update_vpc",
}


def test_every_task_type_has_a_spec() -> None:
    assert set(CATALOGUE) == set(TaskType)
    assert len(TaskType) == 33
    for task_type in TaskType:
        spec = spec_for(task_type)
        assert spec.task_type is task_type
        assert spec.label


def test_exactly_the_issue_types_are_supported() -> None:
    supported = {t.value for t, spec in CATALOGUE.items() if spec.supported}
    assert supported == SUPPORTED


def test_creates_and_storage_tasks_are_only_queued_by_their_own_endpoints() -> None:
    """A create inserts its row with its task; a backup's or volume's route checks the resource
    and the instance it names, which the generic endpoint (an instance id and parameters)
    cannot."""
    assert not spec_for(TaskType.CREATE_VPS).generic
    others = {t for t, spec in CATALOGUE.items() if spec.supported and not spec.generic}
    storage = {
        t
        for t, spec in CATALOGUE.items()
        if spec.supported and spec.resource in {Resource.VOLUME, Resource.BACKUP}
    }
    # an assign reserves its address, a remove refuses the primary: more than queueing
    addresses = {TaskType.ASSIGN_IP, TaskType.REMOVE_IP, TaskType.UPDATE_REVERSE_DNS}
    creates = {TaskType.CREATE_SNAPSHOT, TaskType.CREATE_IMAGE_FROM_SNAPSHOT}
    # checked against the catalogue entry and the instance's image and software
    software = {TaskType.INSTALL_SOFTWARE, TaskType.UNINSTALL_SOFTWARE}
    vpcs = {TaskType.UPDATE_VPC}  # a join reserves its private address
    assert others == {TaskType.CREATE_VPS} | storage | addresses | creates | software | vpcs


def test_delete_cannot_be_cancelled_once_running() -> None:
    assert not spec_for(TaskType.DELETE_VPS).cancellable


@pytest.mark.parametrize(
    ("task_type", "needs"),
    [
        (TaskType.START_VPS, {InstanceStatus.STOPPED}),
        (TaskType.STOP_VPS, {InstanceStatus.RUNNING}),
        (TaskType.REBOOT_VPS, {InstanceStatus.RUNNING}),
        (TaskType.RESIZE_VPS, {InstanceStatus.STOPPED}),
        (TaskType.GET_VNC_URL, {InstanceStatus.RUNNING}),
    ],
)
def test_preconditions(task_type: TaskType, needs: set[InstanceStatus]) -> None:
    assert spec_for(task_type).requires == needs


def test_supported_types_have_strict_parameter_models() -> None:
    for task_type in SUPPORTED:
        params = spec_for(TaskType(task_type)).params
        assert issubclass(params, Params), task_type
        assert params.model_config.get("extra") == "forbid", task_type


def test_unsupported_types_accept_any_parameters() -> None:
    for task_type, spec in CATALOGUE.items():
        if not spec.supported:
            assert spec.params is AnyParams, task_type


VALID: list[tuple[type[BaseModel], dict[str, object]]] = [
    (NoParams, {}),
    (ResizeParams, {"size_id": str(uuid4())}),
    (ReinstallParams, {"image_id": str(uuid4())}),
    (HostnameParams, {"hostname": "web-1"}),
    (
        CreateParams,
        {
            "size_id": str(uuid4()),
            "location_id": str(uuid4()),
            "image_id": str(uuid4()),
            "hostname": "web-1",
        },
    ),
]


@pytest.mark.parametrize(("model", "body"), VALID, ids=lambda v: getattr(v, "__name__", ""))
def test_parameter_models_accept_their_fields(
    model: type[BaseModel], body: dict[str, object]
) -> None:
    assert model.model_validate(body).model_fields_set == set(body)


@pytest.mark.parametrize(("model", "body"), VALID, ids=lambda v: getattr(v, "__name__", ""))
def test_parameter_models_refuse_unknown_keys(
    model: type[BaseModel], body: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({**body, "sizeid": "typo"})
    assert [e["type"] for e in caught.value.errors()] == ["extra_forbidden"]


def test_parameter_models_check_types() -> None:
    with pytest.raises(ValidationError):
        ResizeParams.model_validate({"size_id": "not-a-uuid"})
    with pytest.raises(ValidationError):
        HostnameParams.model_validate({"hostname": ""})
    with pytest.raises(ValidationError):
        NoParams.model_validate({"anything": 1})
