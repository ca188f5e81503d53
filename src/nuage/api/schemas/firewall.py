"""An instance's firewall as `GET …/instances/{instance_id}/firewall` shows it."""

from uuid import UUID

from pydantic import BaseModel, Field

from nuage.domain.enums import TaskStatus
from nuage.domain.firewall import Action, FirewallRule
from nuage.services.firewall import FirewallView


class FirewallChange(BaseModel):
    task_id: UUID = Field(description="The `apply_firewall` task that will apply `rules`.")
    status: TaskStatus = Field(description="`pending` or `running`.")
    rules: list[FirewallRule] = Field(description="The rule list asked for, in evaluation order.")


class FirewallOut(BaseModel):
    instance_id: UUID
    enabled: bool = Field(description="Whether the machine has rules (a default deny then).")
    default_action: Action = Field(
        description="What happens to traffic no rule matches: `DROP` while there are rules."
    )
    rules: list[FirewallRule] = Field(
        description="The rules the machine has, in evaluation order (lowest priority first)."
    )
    pending: FirewallChange | None = Field(
        description="The last rule list asked for whose `apply_firewall` has not finished "
        "(null: none); `rules` stays as it is until it completed."
    )

    @classmethod
    def of(cls, view: FirewallView) -> "FirewallOut":
        task = view.pending
        pending = None
        if task is not None:
            asked = [FirewallRule.model_validate(r) for r in task.parameters.get("rules", [])]
            pending = FirewallChange(task_id=task.id, status=TaskStatus(task.status), rules=asked)
        return cls(
            instance_id=view.instance.id,
            enabled=bool(view.rules),
            default_action=Action.DROP if view.rules else Action.ACCEPT,
            rules=list(view.rules),
            pending=pending,
        )
