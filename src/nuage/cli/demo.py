"""The demo account `make run` creates on first start and reuses afterwards."""

import json
import secrets
from typing import Any

from nuage.cli.runtime import run_in_session
from nuage.config import Settings
from nuage.services.accounts import Bootstrap, bootstrap
from nuage.services.hosts import ensure_demo_sim_hosts
from nuage.services.ip_pools import ensure_demo_pools

DEMO_EMAIL = "demo@nuage.local"


def bootstrap_json(result: Bootstrap) -> dict[str, str]:
    return {
        "user_id": str(result.user_id),
        "organization_id": str(result.organization_id),
        "project_id": str(result.project_id),
        "api_key": result.api_key,
    }


async def ensure_demo_hosts(settings: Settings) -> None:
    """The simulated hosts the demo places its instances on, and the address pools (RFC 5737,
    RFC 3849 documentation ranges) their addresses come from: added once, kept afterwards."""
    await run_in_session(settings, ensure_demo_sim_hosts)
    await run_in_session(settings, ensure_demo_pools)


async def ensure_demo_account(settings: Settings) -> dict[str, Any]:
    """Credentials kept in the data directory (mode 0600), so a second `make run` reuses them."""
    path = settings.data_dir / "demo.json"
    if path.exists():
        saved: dict[str, Any] = json.loads(path.read_text())
        return saved
    password = secrets.token_urlsafe(12)
    result = await run_in_session(
        settings,
        lambda session: bootstrap(
            session, email=DEMO_EMAIL, password=password, organization="Demo", project="demo"
        ),
    )
    credentials = {**bootstrap_json(result), "email": DEMO_EMAIL, "password": password}
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return credentials


# Shell helpers printed with the exports: `api` calls the API with the key, `field` prints one
# field of a JSON answer (`field results 0 id`). The README's tour uses both.
SHELL_HELPERS = (
    'api() { curl -s -H "Authorization: Bearer $NUAGE_TOKEN" '
    "-H 'Content-Type: application/json' \"$@\"; }",
    "field() { python3 -c 'import functools, json, sys; print(functools.reduce("
    "lambda d, k: d[int(k)] if isinstance(d, list) else d[k], sys.argv[1:], "
    'json.load(sys.stdin)))\' "$@"; }',
)


def shell_exports(credentials: dict[str, Any], *, host: str, port: int) -> list[str]:
    """Lines to paste into a shell: where the API is, the key, and the compute base path `$P`."""
    return [
        f"export NUAGE_URL=http://{host}:{port}",
        f"export NUAGE_TOKEN={credentials['api_key']}",
        f"export ORG={credentials['organization_id']} PROJECT={credentials['project_id']}",
        "export P=$NUAGE_URL/v1/organizations/$ORG/projects/$PROJECT/compute",
        *SHELL_HELPERS,
    ]


def print_welcome(credentials: dict[str, Any], *, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    p = (
        f"{base}/v1/organizations/{credentials['organization_id']}"
        f"/projects/{credentials['project_id']}/compute"
    )
    key = credentials["api_key"]
    print("nuage demo account (kept in $NUAGE_DATA_DIR/demo.json):")
    print(
        json.dumps(
            {k: credentials[k] for k in ("user_id", "organization_id", "project_id", "api_key")}
        )
    )
    print(f"email: {credentials['email']}  password: {credentials['password']}")
    print(f"Web console: {base}/ (sign in with that email and password)")
    print()
    print("Paste into your shell (bash or zsh) to follow the README's tour:")
    for line in shell_exports(credentials, host=host, port=port):
        print(f"  {line}")
    print()
    print("Try it:")
    print(f"  curl -s -H 'Authorization: Bearer {key}' {p}/instances")
    print(f"  curl -s -H 'Authorization: Bearer {key}' {base}/v1/compute/sizes")
    print(f"API docs: {base}/docs    health: {base}/healthz    ready: {base}/readyz")
    print()
